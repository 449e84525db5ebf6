//! Streaming a query's objects in batches: SQLAlchemy's `yield_per` and `partitions()`.
//!
//! A row cursor borrows its connection, and the session keeps its connection behind its
//! lock. Handing rows out through an iterator must not hold that lock across the caller's
//! loop: reading a lazy relationship or writing an object in the loop takes it too. So the
//! stream lends the session's connection to a reader thread for its life. The thread reads
//! the rows a batch at a time and hands each batch over a channel of one slot (so it reads
//! the next batch while the caller works on this one); the caller's side builds the objects
//! under the lock, one batch at a time. When the stream ends or is dropped, the thread
//! returns the connection, still in the session's transaction.

use std::ops::Range;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::*;
use crate::options::{self, LoadNode};
use crate::state::Handle;
use retort_core::engine::driver::DriverRow;

/// The error for a use of the database while a stream has the session's connection.
pub(super) fn lent_error() -> Error {
    Error::InvalidRequest(
        "the session's connection is reading the rows of a Session::stream: finish or drop \
         the stream before the session uses the database again"
            .into(),
    )
}

/// What the session says after the reader thread panicked (in a listener of the engine).
const READER_LOST: &str = "the reader thread of a Session::stream panicked, and the \
                           connection and its transaction are lost; call rollback() before \
                           using the session again";

/// The most rows of a batch the reader makes room for before reading them.
const PREALLOCATED_ROWS: usize = 4096;

/// What the reader thread sends: first the result's column names, then batches of rows.
enum Message {
    Columns(Arc<[String]>),
    Rows(Batch),
}

/// Rows as the reader sends them: their values one row after another, with text and bytes
/// copied into one buffer each. So the allocations that cross threads are the batch's few;
/// each string an object keeps is made on the caller's thread, which frees it too (memory
/// freed by another thread than the one that made it is slow to give back).
#[derive(Default)]
struct Batch {
    cells: Vec<Cell>,
    text: String,
    bytes: Vec<u8>,
}

/// One value of a [`Batch`]: text and bytes by their place in the batch's buffers.
enum Cell {
    Value(Value),
    Text(Range<usize>),
    Bytes(Range<usize>),
}

impl Batch {
    fn push(&mut self, value: Value) {
        let cell = match value {
            Value::Text(s) => {
                let start = self.text.len();
                self.text.push_str(&s);
                Cell::Text(start..self.text.len())
            }
            Value::Bytes(b) => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(&b);
                Cell::Bytes(start..self.bytes.len())
            }
            other => Cell::Value(other),
        };
        self.cells.push(cell);
    }
}

/// The objects of a query, built a batch of rows at a time as the database returns them:
/// SQLAlchemy's `yield_per`. Made by [`Session::stream`] or
/// [`Query::yield_per`](crate::Query::yield_per); iterate it for objects, or call
/// [`partitions`](Self::partitions) for one `Vec` per batch.
///
/// - **Memory stays at about a batch.** An object this stream loaded leaves the identity map
///   when the next batch is read, unless it is still held (by the caller or a relationship)
///   or was changed: like SQLAlchemy's weak-referencing identity map, the session keeps only
///   what someone uses. Objects the session had before the stream stay.
/// - **One object per row.** A join that matches an object several times yields it several
///   times, as SQLAlchemy 2.0's `scalars()` does without `unique()`.
/// - **The session's connection is the stream's until it ends** (its last object is taken,
///   an error is returned, or it is dropped). Meanwhile anything that needs the database —
///   a query, a flush of pending changes, a commit or rollback, loading an expired object
///   or a lazy relationship — is an [`Error::InvalidRequest`] that changes nothing, except
///   ending a savepoint: that cannot be done, so the session then asks for `rollback()`.
///   Reading and writing the streamed objects, adding objects and `get` of an object the
///   session has are fine; the changes are flushed after the stream.
/// - **Relationships load lazily, after the stream.** An eager loader (`selectinload`,
///   `joinedload`, `contains_eager`, or a relationship declared eager) would need the
///   connection while it reads: it is an [`Error::InvalidRequest`] when the stream is made.
///   Override a declared one with `lazyload` or `noload`.
/// - Listeners of the engine see the statement on the reader thread.
///
/// ```
/// # mod retort { pub(crate) use retort_core as core; pub(crate) use retort_orm as orm; }
/// use retort_orm::{Model, Registry, Session};
/// # use retort_orm::__core::engine::create_engine;
///
/// #[derive(retort_macros::Model, Debug, Default)]
/// #[retort(crate = "crate::retort", table = "users")]
/// pub struct User {
///     #[retort(primary_key)]
///     pub id: Option<i64>,
///     pub name: Option<String>,
/// }
///
/// # fn main() -> retort_core::Result<()> {
/// let engine = create_engine("sqlite://")?;
/// let registry = Registry::new();
/// registry.register::<User>()?;
/// registry.metadata().create_all(&engine)?;
/// let session = Session::new(&engine);
/// session.add_all((0..10).map(|i| User { name: Some(format!("user {i}")), ..Default::default() }));
/// session.commit()?;
///
/// let mut names = 0;
/// for user in session.stream(&User::select(), 4)? {
///     let user = user?;
///     names += user.read()?.name.as_ref().map_or(0, |_| 1);
/// }
/// assert_eq!(names, 10);
///
/// let sizes: Vec<usize> = session
///     .stream(&User::select(), 4)?
///     .partitions()
///     .map(|batch| batch.map(|objs| objs.len()))
///     .collect::<retort_core::Result<_>>()?;
/// assert_eq!(sizes, [4, 4, 2]);
/// # Ok(()) }
/// ```
pub struct ObjectStream<'s, M: Model> {
    shared: &'s SessionShared,
    nodes: Vec<LoadNode>,
    columns: Arc<[String]>,
    /// `None` once the stream has ended and given the connection back.
    reader: Option<Reader>,
    /// The current batch, handed out from `next_at` on.
    batch: Vec<Obj<M>>,
    next_at: usize,
    /// The objects the previous batch added to the identity map.
    added: Vec<Handle>,
}

/// The reader thread and its end of the channel.
struct Reader {
    rows: Receiver<Result<Message>>,
    /// Gives back the connection it was handed; `None` only if it never got one.
    thread: JoinHandle<Option<Connection>>,
}

impl Session {
    /// Runs `select` and returns its objects as the rows arrive, building `yield_per` of them
    /// at a time: SQLAlchemy's `session.scalars(select(User).execution_options(yield_per=N))`.
    /// See [`ObjectStream`] for what the session can do while it reads.
    ///
    /// Autoflushes first. Errors: [`Error::Argument`] when `yield_per` is 0; an eager loader
    /// among the select's options or its relationships' declared loaders is an
    /// [`Error::InvalidRequest`]; a failing statement returns its database error here.
    pub fn stream<M: Model>(
        &self,
        select: &query::ModelSelect<M>,
        yield_per: usize,
    ) -> Result<ObjectStream<'_, M>> {
        let (core, chains) = select.clone().into_parts()?;
        if yield_per == 0 {
            return Err(Error::Argument("yield_per must be at least 1".into()));
        }
        let mapper = M::mapper();
        let nodes = options::plan(mapper, &chains)?;
        if let Some(eager) = nodes.iter().find(|n| n.strategy.deferred().is_none()) {
            return Err(Error::InvalidRequest(format!(
                "Session::stream cannot load {} eagerly: the stream's connection is busy \
                 reading rows. Give the select lazyload(..) or noload(..) for it, or load \
                 with scalars()",
                eager.rel.describe()
            )));
        }
        // The reader is started before the connection is taken, so that a thread the system
        // refuses leaves the session as it was.
        let stmt = Statement::Query(CoreQuery::Select(Box::new(core)));
        let (hand_over, handed) = mpsc::channel::<Connection>();
        let (send, rows) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("retort-stream".into())
            .spawn(move || {
                let conn = handed.recv().ok()?;
                Some(read_rows(conn, &stmt, yield_per, &send))
            })
            .map_err(|e| {
                Error::InvalidRequest(format!(
                    "Session::stream could not start its reader thread: {e}"
                ))
            })?;
        let shared = self.shared();
        {
            let mut state = shared.lock();
            shared.autoflush(&mut state)?;
            shared.connection(&mut state)?;
            let conn = state.conn.take().ok_or_else(lent_error)?;
            if let Err(mpsc::SendError(conn)) = hand_over.send(conn) {
                state.conn = Some(conn);
                return Err(Error::InvalidRequest(
                    "the reader thread of a Session::stream ended before it began".into(),
                ));
            }
            state.lent = true;
        }
        let mut stream = ObjectStream {
            shared,
            nodes,
            columns: Arc::from([]),
            reader: Some(Reader { rows, thread }),
            batch: Vec::new(),
            next_at: 0,
            added: Vec::new(),
        };
        // The statement's own failure is this call's.
        match stream.receive() {
            Some(Ok(Message::Columns(columns))) => stream.columns = columns,
            Some(Err(e)) => return Err(e),
            Some(Ok(Message::Rows(_))) | None => {
                return Err(Error::InvalidRequest(READER_LOST.into()))
            }
        }
        Ok(stream)
    }
}

/// The reader thread: runs `stmt` on `conn` and sends its rows, `size` at a time, until they
/// end, an error ends them, or the stream is dropped. Returns the connection.
fn read_rows(
    mut conn: Connection,
    stmt: &Statement,
    size: usize,
    send: &SyncSender<Result<Message>>,
) -> Connection {
    let result = (|| {
        let mut rows = conn.stream(stmt)?;
        if send
            .send(Ok(Message::Columns(rows.columns().into())))
            .is_err()
        {
            return Ok(());
        }
        let width = rows.columns().len().max(1);
        loop {
            // Room for a batch made up front, up to a bound: `yield_per` is the caller's, and
            // a huge one must not ask for more memory than the rows need.
            let mut batch = Batch {
                cells: Vec::with_capacity(size.min(PREALLOCATED_ROWS) * width),
                ..Batch::default()
            };
            for _ in 0..size {
                let read = rows.next_with(|row| {
                    for i in 0..row.len() {
                        batch.push(row.get(i)?);
                    }
                    Ok(())
                });
                match read {
                    Some(read) => read?,
                    None => break,
                }
            }
            if batch.cells.is_empty() || send.send(Ok(Message::Rows(batch))).is_err() {
                return Ok(());
            }
        }
    })();
    if let Err(e) = result {
        // The stream may be gone already; then no one is left to tell.
        let _ = send.send(Err(e));
    }
    conn
}

impl<M: Model> ObjectStream<'_, M> {
    /// The reader's next message; `None` when its rows have ended, after which the
    /// connection is back in the session.
    fn receive(&mut self) -> Option<Result<Message>> {
        let message = self.reader.as_ref()?.rows.recv().ok();
        if !matches!(message, Some(Ok(_))) {
            self.give_back();
        }
        message
    }

    /// Ends the stream after `error`: an error is its last item.
    fn fail(&mut self, error: Error) -> Error {
        self.give_back();
        self.batch.clear();
        self.next_at = 0;
        error
    }

    /// Ends the reader and puts the connection back into the session.
    fn give_back(&mut self) {
        let Some(Reader { rows, thread }) = self.reader.take() else {
            return;
        };
        // Closing the channel stops a reader that is waiting to send.
        drop(rows);
        let conn = thread.join();
        let mut state = self.shared.lock();
        state.lent = false;
        match conn {
            Ok(Some(conn)) => state.conn = Some(conn),
            // A listener of the engine panicked on the reader thread: the connection, and
            // with it the transaction, are gone, and the session must say so.
            Ok(None) | Err(_) => state.pending_rollback = Some(READER_LOST.into()),
        }
    }
}

impl<'s, M: Model> ObjectStream<'s, M> {
    /// One `Vec` of objects per batch of rows, instead of one object at a time: SQLAlchemy's
    /// `Result.partitions()`. Objects of this stream not yet taken come first.
    pub fn partitions(self) -> Partitions<'s, M> {
        Partitions(self)
    }

    /// Builds the next batch's objects; `false` when the rows have ended.
    fn next_batch(&mut self) -> Result<bool> {
        self.batch.clear();
        self.next_at = 0;
        let batch = match self.receive() {
            Some(Ok(Message::Rows(batch))) => batch,
            Some(Ok(Message::Columns(_))) => Batch::default(),
            Some(Err(e)) => return Err(e),
            None => {
                let mut state = self.shared.lock();
                self.release_unused(&mut state);
                return Ok(false);
            }
        };
        let mapper = M::mapper();
        let mut state = self.shared.lock();
        self.release_unused(&mut state);
        let width = self.columns.len().max(1);
        let mut handles = Vec::with_capacity(batch.cells.len() / width);
        let Batch {
            mut cells,
            text,
            bytes,
        } = batch;
        for cells in cells.chunks_mut(width) {
            let mut row = BatchRow {
                columns: &self.columns,
                cells,
                text: &text,
                bytes: &bytes,
            };
            let key =
                loading::row_key(mapper, &row, 0)?.ok_or_else(|| loading::null_key(mapper))?;
            let (handle, added) =
                self.shared
                    .hydrate_entry(&mut state.identity, mapper, key, &mut row, 0)?;
            if added {
                self.added.push(Arc::clone(&handle));
            }
            handles.push(handle);
        }
        // Only deferred loaders are left (eager ones were refused): they set each object's
        // strategy and send nothing.
        self.shared.load_below(&mut state, &handles, &self.nodes)?;
        self.batch = handles
            .into_iter()
            .map(|handle| {
                Obj::from_handle(handle).ok_or_else(|| {
                    Error::InvalidRequest("identity map entry has another type".into())
                })
            })
            .collect::<Result<_>>()?;
        Ok(true)
    }

    /// Takes out of the identity map the objects the last batch added that no one else holds
    /// and that were not changed. No one can reach such an object any more: it is freed here.
    fn release_unused(&mut self, state: &mut SessionState) {
        for handle in self.added.drain(..) {
            // This list and the identity map hold it; nothing else does.
            if Arc::strong_count(&handle) != 2 {
                continue;
            }
            let key = {
                let meta = handle.meta();
                if meta.state != ObjectState::Persistent || meta.touched {
                    continue;
                }
                meta.key.clone()
            };
            if let Some(key) = key {
                state.identity.remove(&identity_key(&*handle, key));
            }
        }
    }
}

impl<M: Model> Iterator for ObjectStream<'_, M> {
    type Item = Result<Obj<M>>;

    fn next(&mut self) -> Option<Result<Obj<M>>> {
        while self.next_at == self.batch.len() {
            match self.next_batch() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(self.fail(e))),
            }
        }
        let obj = self.batch.get(self.next_at)?.clone();
        self.next_at += 1;
        Some(Ok(obj))
    }
}

impl<M: Model> Drop for ObjectStream<'_, M> {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// The batches of an [`ObjectStream`], one `Vec` of objects each.
pub struct Partitions<'s, M: Model>(ObjectStream<'s, M>);

impl<M: Model> Iterator for Partitions<'_, M> {
    type Item = Result<Vec<Obj<M>>>;

    fn next(&mut self) -> Option<Result<Vec<Obj<M>>>> {
        let stream = &mut self.0;
        while stream.next_at == stream.batch.len() {
            match stream.next_batch() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(stream.fail(e))),
            }
        }
        let rest = stream.batch.split_off(stream.next_at);
        stream.batch.clear();
        stream.next_at = 0;
        Some(Ok(rest))
    }
}

/// A row of a [`Batch`].
struct BatchRow<'b> {
    columns: &'b [String],
    cells: &'b mut [Cell],
    text: &'b str,
    bytes: &'b [u8],
}

impl BatchRow<'_> {
    fn cell(&mut self, i: usize) -> Result<&mut Cell> {
        let width = self.cells.len();
        self.cells.get_mut(i).ok_or_else(|| {
            Error::Argument(format!(
                "column {i} is out of range of a {width}-column row"
            ))
        })
    }
}

impl DriverRow for BatchRow<'_> {
    fn column_count(&self) -> usize {
        self.cells.len()
    }

    fn column_name(&self, i: usize) -> &str {
        self.columns.get(i).map_or("", String::as_str)
    }

    fn get(&self, i: usize) -> Result<Value> {
        match self.cells.get(i) {
            Some(Cell::Value(v)) => Ok(v.clone()),
            Some(Cell::Text(r)) => Ok(Value::Text(self.text[r.clone()].to_owned())),
            Some(Cell::Bytes(r)) => Ok(Value::Bytes(self.bytes[r.clone()].to_vec())),
            None => Err(Error::Argument(format!(
                "column {i} is out of range of a {}-column row",
                self.cells.len()
            ))),
        }
    }

    fn take(&mut self, i: usize) -> Result<Value> {
        let (text, bytes) = (self.text, self.bytes);
        Ok(match self.cell(i)? {
            Cell::Value(v) => std::mem::replace(v, Value::Null),
            Cell::Text(r) => Value::Text(text[r.clone()].to_owned()),
            Cell::Bytes(r) => Value::Bytes(bytes[r.clone()].to_vec()),
        })
    }

    fn take_int(&mut self, i: usize) -> Result<std::result::Result<i64, Value>> {
        match self.cell(i)? {
            Cell::Value(Value::Int(n)) => Ok(Ok(*n)),
            _ => self.take(i).map(Err),
        }
    }

    fn take_text(&mut self, i: usize) -> Result<std::result::Result<String, Value>> {
        let text = self.text;
        match self.cell(i)? {
            Cell::Text(r) => Ok(Ok(text[r.clone()].to_owned())),
            _ => self.take(i).map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_row_gives_back_each_value_as_pushed() {
        let values = [
            Value::Int(-7),
            Value::Text("Grüße 🎉".into()),
            Value::Null,
            Value::Bytes(vec![0, 255, 10]),
            Value::Text(String::new()),
            Value::Float(1.5),
        ];
        let mut batch = Batch::default();
        for value in values.iter().cloned().chain(values.iter().cloned()) {
            batch.push(value);
        }
        let columns: Vec<String> = (0..values.len()).map(|i| format!("c{i}")).collect();
        let Batch {
            mut cells,
            text,
            bytes,
        } = batch;
        for cells in cells.chunks_mut(values.len()) {
            let mut row = BatchRow {
                columns: &columns,
                cells,
                text: &text,
                bytes: &bytes,
            };
            assert_eq!(row.column_count(), 6);
            assert_eq!(row.column_name(5), "c5");
            for (i, value) in values.iter().enumerate() {
                assert_eq!(&row.get(i).unwrap(), value);
            }
            assert_eq!(row.take_int(0).unwrap(), Ok(-7));
            assert_eq!(row.take_text(1).unwrap(), Ok("Grüße 🎉".to_owned()));
            assert_eq!(row.take_text(2).unwrap(), Err(Value::Null));
            assert_eq!(row.take(3).unwrap(), Value::Bytes(vec![0, 255, 10]));
            assert_eq!(row.take_int(4).unwrap(), Err(Value::Text(String::new())));
            assert_eq!(row.take(5).unwrap(), Value::Float(1.5));
            assert!(matches!(row.get(6), Err(Error::Argument(_))));
            assert!(matches!(row.take(6), Err(Error::Argument(_))));
        }
    }
}
