//! The Session: a holding zone for the objects of one unit of work, with an identity map,
//! automatic dirty tracking, flush in dependency order, autoflush, expire-on-commit and
//! savepoints — SQLAlchemy's semantics.
//!
//! ```no_run
//! # use retort_orm::*; use retort_core::engine::create_engine;
//! # fn demo<User: Model + Default>() -> retort_core::Result<()> {
//! let engine = create_engine("sqlite://")?;
//! let factory = sessionmaker(&engine);          // SQLAlchemy's sessionmaker(bind=engine)
//! let session = factory.session();              // Session()
//! let user = session.add(User::default());      // pending
//! session.commit()?;                            // INSERT, COMMIT; `user` is persistent
//! # let _ = user; Ok(()) }
//! ```

use std::any::TypeId;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use retort_core::engine::{Connection, Engine};
use retort_core::sql::ast::{ColumnRef, Expr, FromItem, Query as CoreQuery, SelectCore, Statement};
use retort_core::sql::{Dml, Executable};
use retort_core::value::Value;
use retort_core::{CursorResult, Error, ErrorKind, Result};

use crate::identity::{IdentityKey, IdentityMap, Key};
use crate::mapper::{Mapper, Model};
use crate::query::{self, Query};
use crate::state::{Obj, ObjHandle, ObjMeta, ObjectState, SessionLink};
use crate::unit_of_work as uow;

mod bulk;
mod flush;
mod loading;
mod merge;
mod stream;
mod transaction;

pub use stream::{ObjectStream, Partitions};
pub use transaction::NestedTransaction;

/// Options of a session, as `sessionmaker` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Flush pending changes before each query, so the query sees them (default true).
    pub autoflush: bool,
    /// Expire every object at commit, so the next access reloads it (default true).
    pub expire_on_commit: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            autoflush: true,
            expire_on_commit: true,
        }
    }
}

/// A configured session factory: SQLAlchemy's `sessionmaker(bind=engine)`.
#[derive(Debug, Clone)]
pub struct SessionMaker {
    engine: Engine,
    options: SessionOptions,
}

/// A session factory bound to `engine`, with default options.
pub fn sessionmaker(engine: &Engine) -> SessionMaker {
    SessionMaker {
        engine: engine.clone(),
        options: SessionOptions::default(),
    }
}

impl SessionMaker {
    /// Sets autoflush for the sessions it makes.
    pub fn autoflush(mut self, on: bool) -> Self {
        self.options.autoflush = on;
        self
    }

    /// Sets expire_on_commit for the sessions it makes.
    pub fn expire_on_commit(mut self, on: bool) -> Self {
        self.options.expire_on_commit = on;
        self
    }

    /// A new session.
    pub fn session(&self) -> Session {
        Session::with_options(&self.engine, self.options)
    }
}

/// A unit of work against one engine. Not shared between threads at once, but it and its
/// objects may be moved to another thread.
pub struct Session {
    shared: Arc<SessionShared>,
}

pub(crate) struct SessionShared {
    engine: Engine,
    options: SessionOptions,
    state: Mutex<SessionState>,
    this: Weak<SessionShared>,
}

/// A pending object and the columns its INSERT left to the database.
struct Inserted {
    obj: Arc<dyn ObjHandle>,
    /// Shared by the objects of one INSERT group.
    generated: Arc<[usize]>,
    /// Foreign key columns the flush copied a parent's key into, with their values before.
    synced: Vec<(usize, Value)>,
    /// The object's write count when its values were read for the INSERT.
    writes: u32,
}

#[derive(Default)]
struct SessionState {
    conn: Option<Connection>,
    savepoints: Vec<Savepoint>,
    identity: IdentityMap,
    new: Vec<Arc<dyn ObjHandle>>,
    deleted: Vec<Arc<dyn ObjHandle>>,
    touched: Vec<Arc<dyn ObjHandle>>,
    /// Objects inserted by flushes of the current transaction.
    inserted: Vec<Inserted>,
    /// Objects deleted by flushes of the current transaction.
    removed: Vec<Arc<dyn ObjHandle>>,
    pending_rollback: Option<String>,
    no_autoflush: u32,
    /// The id given to the last savepoint begun.
    last_savepoint: u64,
    /// The connection is lent to an [`ObjectStream`]'s reader (`conn` is `None` meanwhile).
    lent: bool,
}

/// A savepoint begun by `begin_nested`.
struct Savepoint {
    /// Tells it apart from the others for its [`NestedTransaction`].
    id: u64,
    /// The database's name for it, once opened: it opens only when its work first needs the
    /// database.
    name: Option<String>,
    inserted_mark: usize,
    removed_mark: usize,
}

/// Marks `obj` expired, unflushed changes and loaded relationships included: its next
/// access loads it again.
fn expire(obj: &Arc<dyn ObjHandle>) {
    {
        let mut meta = obj.meta();
        meta.expired = true;
        meta.committed = None;
        meta.touched = false;
    }
    obj.expire_relations();
}

/// Refuses to end the transaction while a stream has the connection.
fn refuse_if_lent(state: &SessionState) -> Result<()> {
    if state.lent {
        return Err(stream::lent_error());
    }
    Ok(())
}

fn identity_key(obj: &dyn ObjHandle, key: Key) -> IdentityKey {
    IdentityKey {
        model: obj.model_type(),
        key,
    }
}

impl SessionLink for SessionShared {
    fn touched(&self, obj: Arc<dyn ObjHandle>) {
        self.lock().touched.push(obj);
    }

    fn load(&self, obj: &Arc<dyn ObjHandle>) -> Result<()> {
        let mut state = self.lock();
        self.refresh_handle(&mut state, obj)
    }

    fn load_relation(
        &self,
        owner: &Arc<dyn ObjHandle>,
        rel: &'static crate::relationship::Relationship,
    ) -> Result<Vec<Arc<dyn ObjHandle>>> {
        let mut state = self.lock();
        let mut found = self.load_related(&mut state, rel, std::slice::from_ref(owner), &[])?;
        Ok(found.pop().unwrap_or_default())
    }

    fn cascade_add(&self, obj: Arc<dyn ObjHandle>) {
        let mut state = self.lock();
        self.add_pending(&mut state, Arc::clone(&obj));
        self.cascade_pending(&mut state, &[obj]);
    }
}

impl SessionShared {
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic inside a session method leaves the state as consistent as an error would;
        // carry on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the object with `meta` belongs to this session. Its link is compared by
    /// address: the link keeps this session's allocation, so no other session can have that
    /// address while the object holds it.
    fn owns(&self, meta: &ObjMeta) -> bool {
        meta.session
            .as_ref()
            .is_some_and(|link| std::ptr::addr_eq(link.as_ptr(), self as *const Self))
    }

    fn link(&self) -> Weak<dyn SessionLink> {
        let weak: Weak<dyn SessionLink> = self.this.clone();
        weak
    }

    /// The connection of the current transaction, beginning one if none is open, with every
    /// savepoint begun so far opened.
    fn connection<'s>(&self, state: &'s mut SessionState) -> Result<&'s mut Connection> {
        if state.lent {
            return Err(stream::lent_error());
        }
        if let Some(message) = &state.pending_rollback {
            return Err(Error::PendingRollback(message.clone()));
        }
        if state.conn.is_none() {
            let mut conn = self.engine.connect()?;
            conn.begin_transaction()?;
            state.conn = Some(conn);
        }
        let SessionState {
            conn, savepoints, ..
        } = state;
        let conn = conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("the session has no connection".into()))?;
        // Savepoints open lazily, as SQLAlchemy's do: here, on the first use of the database
        // after begin_nested(), outermost first. One that is never needed sends nothing.
        for sp in savepoints.iter_mut().filter(|sp| sp.name.is_none()) {
            sp.name = Some(conn.savepoint()?);
        }
        Ok(conn)
    }

    /// `SELECT <columns> FROM t WHERE <pk> = ...`: the one row with primary key `key`.
    fn select_by_key(
        &self,
        state: &mut SessionState,
        mapper: &Mapper,
        key: &[Value],
    ) -> Result<Option<retort_core::Row>> {
        let sql = self.select_by_key_sql(mapper, key)?;
        self.connection(state)?.exec_driver_sql(&sql, key)?.first()
    }

    /// The SQL of `SELECT <columns> FROM t WHERE <pk> = ...`, compiled once per mapper and
    /// dialect (`key` only shapes the placeholders).
    fn select_by_key_sql(&self, mapper: &Mapper, key: &[Value]) -> Result<Arc<str>> {
        let dialect = self.engine.dialect_ref();
        mapper.cached_sql("select_by_key", &*dialect, || {
            query::select_by_key(mapper, key)
        })
    }

    fn execute(&self, state: &mut SessionState, stmt: &impl Executable) -> Result<CursorResult> {
        self.connection(state)?.execute(stmt)
    }

    /// Makes a transient object pending in this session (no-op for any other state).
    fn add_pending(&self, state: &mut SessionState, obj: Arc<dyn ObjHandle>) {
        if obj.meta().state != ObjectState::Transient {
            return;
        }
        self.attach(&obj, ObjectState::Pending);
        state.new.push(obj);
    }

    /// Makes pending the transient objects related to `roots` through save-update cascades,
    /// as far as they reach (SQLAlchemy cascades at `add`; the flush looks again).
    fn cascade_pending(&self, state: &mut SessionState, roots: &[Arc<dyn ObjHandle>]) {
        for obj in crate::dependency::cascade_save(roots) {
            self.add_pending(state, obj);
        }
    }

    fn attach(&self, obj: &Arc<dyn ObjHandle>, new_state: ObjectState) {
        let mut meta = obj.meta();
        meta.state = new_state;
        meta.session = Some(self.link());
    }

    fn autoflush(&self, state: &mut SessionState) -> Result<()> {
        if self.options.autoflush && state.no_autoflush == 0 {
            self.flush_locked(state)?;
        }
        Ok(())
    }

    /// Loads every column of `obj` from the database again.
    fn refresh_handle(&self, state: &mut SessionState, obj: &Arc<dyn ObjHandle>) -> Result<()> {
        let key = obj.key_values()?;
        let mapper = obj.mapper();
        let row = self.select_by_key(state, mapper, &key)?;
        let Some(row) = row else {
            return Err(Error::InvalidRequest(format!(
                "could not refresh the {} object: its row no longer exists",
                mapper.model_name()
            )));
        };
        obj.set_values(&mut row.into_values().into_iter().enumerate())?;
        let mut meta = obj.meta();
        meta.expired = false;
        // The reload discarded any unflushed change: the next write must take a new
        // snapshot and register the object again, or its change would be lost.
        meta.committed = None;
        meta.touched = false;
        drop(meta);
        obj.expire_relations();
        Ok(())
    }
}

impl Session {
    /// A session on `engine` with default options.
    pub fn new(engine: &Engine) -> Session {
        Session::with_options(engine, SessionOptions::default())
    }

    /// A session on `engine` with `options`.
    pub fn with_options(engine: &Engine, options: SessionOptions) -> Session {
        let shared = Arc::new_cyclic(|this| SessionShared {
            engine: engine.clone(),
            options,
            state: Mutex::new(SessionState::default()),
            this: this.clone(),
        });
        Session { shared }
    }

    /// The engine the session works on.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Adds a new object; it is INSERTed at the next flush. Returns its handle. Objects it
    /// relates to that are new (`Many::from(vec![..])`, `One::to(..)`) are added with it
    /// (the save-update cascade).
    pub fn add<M: Model>(&self, model: M) -> Obj<M> {
        let obj = Obj::new(model);
        let handle = obj.handle();
        self.shared.attach(&handle, ObjectState::Pending);
        let mut state = self.shared.lock();
        state.new.push(Arc::clone(&handle));
        self.shared.cascade_pending(&mut state, &[handle]);
        obj
    }

    /// Adds many new objects.
    pub fn add_all<M: Model>(&self, models: impl IntoIterator<Item = M>) -> Vec<Obj<M>> {
        let objs: Vec<Obj<M>> = models.into_iter().map(Obj::new).collect();
        let mut state = self.shared.lock();
        state.new.reserve(objs.len());
        let first = state.new.len();
        for obj in &objs {
            let handle = obj.handle();
            self.shared.attach(&handle, ObjectState::Pending);
            state.new.push(handle);
        }
        if !M::mapper().relationship_properties().is_empty() {
            // Read in place: most new objects reach nothing, and are passed over without a copy of the list.
            for reached in crate::dependency::cascade_save(&state.new[first..]) {
                self.shared.add_pending(&mut state, reached);
            }
        }
        objs
    }

    /// Adds an existing handle: a transient object becomes pending; a detached one becomes
    /// persistent in this session again.
    pub fn add_obj<M: Model>(&self, obj: &Obj<M>) -> Result<()> {
        let handle = obj.handle();
        let mut state = self.shared.lock();
        let (current, key, elsewhere) = {
            let meta = obj.meta();
            let elsewhere = meta.session.is_some() && !self.shared.owns(&meta);
            (meta.state, meta.key.clone(), elsewhere)
        };
        if elsewhere && current != ObjectState::Detached {
            return Err(Error::InvalidRequest(format!(
                "the {} object is already attached to another session",
                M::mapper().model_name()
            )));
        }
        match (current, key) {
            (ObjectState::Transient, _) => {
                self.shared.attach(&handle, ObjectState::Pending);
                state.new.push(Arc::clone(&handle));
                self.shared.cascade_pending(&mut state, &[handle]);
            }
            (ObjectState::Detached, Some(key)) => {
                state
                    .identity
                    .insert(identity_key(&*handle, key), Arc::clone(&handle))?;
                self.shared.attach(&handle, ObjectState::Persistent);
            }
            _ => {}
        }
        Ok(())
    }

    /// Marks an object for deletion: a persistent object is DELETEd at the next flush; a
    /// pending one is simply removed from the session.
    pub fn delete<M: Model>(&self, obj: &Obj<M>) -> Result<()> {
        let mut state = self.shared.lock();
        let handle = obj.handle();
        let current = obj.state();
        match current {
            ObjectState::Pending => {
                // Never inserted, so nothing to DELETE: it leaves the session, with the
                // pending objects a delete cascade reaches from it.
                for pending in crate::dependency::cascade_pending_deletes(&handle) {
                    state.new.retain(|o| o.addr() != pending.addr());
                    let mut meta = pending.meta();
                    meta.state = ObjectState::Transient;
                    meta.session = None;
                }
                Ok(())
            }
            ObjectState::Persistent if self.shared.owns(&obj.meta()) => {
                obj.meta().state = ObjectState::Deleted;
                state.deleted.push(handle);
                Ok(())
            }
            ObjectState::Deleted => Ok(()),
            _ => Err(Error::InvalidRequest(format!(
                "the {} object is not persisted in this session ({current:?})",
                M::mapper().model_name()
            ))),
        }
    }

    /// Writes every pending change to the database, in the current transaction.
    pub fn flush(&self) -> Result<()> {
        let mut state = self.shared.lock();
        self.shared.flush_locked(&mut state)
    }

    /// Flushes, then commits the transaction. With expire_on_commit, every object is expired
    /// and reloads on next access.
    ///
    /// When the connection is lost while the COMMIT is in flight, the error's kind is
    /// [`ErrorKind::CommitOutcomeUnknown`]: the database may have committed or not. The session
    /// then keeps its objects as if the commit happened — persistent, keyed, and all expired
    /// — so that a retried commit has nothing to INSERT twice, and the next access to each
    /// object loads what the database really holds (an object whose row is not there fails
    /// to load, and `get` of its key returns `None`). The session needs no rollback after it.
    pub fn commit(&self) -> Result<()> {
        let mut state = self.shared.lock();
        refuse_if_lent(&state)?;
        self.shared.flush_locked(&mut state)?;
        if let Err(err) = self.shared.end_transaction(&mut state, true) {
            if err.kind() == Some(ErrorKind::CommitOutcomeUnknown) {
                self.shared.finish_commit(&mut state, true);
                return Err(err);
            }
            // The COMMIT failed and the transaction is rolled back: the objects its flushes
            // wrote are not in the database. rollback() puts them right, as after a failed
            // flush.
            state.pending_rollback = Some(format!(
                "this session's COMMIT failed and its transaction was rolled back ({err}); \
                 call rollback() before using the session again"
            ));
            return Err(err);
        }
        self.shared
            .finish_commit(&mut state, self.shared.options.expire_on_commit);
        Ok(())
    }

    /// Rolls back the transaction: nothing flushed in it stays in the database, pending
    /// objects become transient, deleted ones persistent again, and every object is expired.
    pub fn rollback(&self) -> Result<()> {
        let mut state = self.shared.lock();
        refuse_if_lent(&state)?;
        let result = self.shared.end_transaction(&mut state, false);
        for obj in std::mem::take(&mut state.new) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
        }
        self.shared.restore_after_rollback(&mut state, 0, 0);
        state.pending_rollback = None;
        result
    }

    /// Detaches every object from the session and rolls back. As in SQLAlchemy, the values
    /// an object had loaded stay readable; objects whose INSERT is undone become transient.
    pub fn close(&self) -> Result<()> {
        // Taken out of the identity map first, so that the rollback does not expire them.
        let held: Vec<Arc<dyn ObjHandle>> = {
            let mut state = self.shared.lock();
            refuse_if_lent(&state)?;
            state.identity.drain().collect()
        };
        let result = self.rollback();
        let mut state = self.shared.lock();
        // The rollback puts back objects whose DELETE it undid; they leave too.
        let restored: Vec<Arc<dyn ObjHandle>> = state.identity.drain().collect();
        for obj in held.into_iter().chain(restored) {
            let mut meta = obj.meta();
            if meta.state != ObjectState::Transient {
                meta.state = ObjectState::Detached;
            }
            meta.session = None;
        }
        result
    }

    /// The object of `M` with primary key `key`: from the identity map without SQL when it
    /// is there, else loaded. `None` if no such row exists.
    pub fn get<M: Model>(&self, key: impl query::IntoKey) -> Result<Option<Obj<M>>> {
        let values = key.into_key();
        let mapper = M::mapper();
        if values.len() != mapper.primary_key().len() {
            return Err(Error::Argument(format!(
                "{} has a primary key of {} column(s); {} value(s) given",
                mapper.model_name(),
                mapper.primary_key().len(),
                values.len()
            )));
        }
        let mut state = self.shared.lock();
        if let Some(key) = Key::from_values(&values) {
            let ikey = IdentityKey {
                model: TypeId::of::<M>(),
                key,
            };
            if let Some(handle) = state.identity.get(&ikey) {
                let handle = Arc::clone(handle);
                let (current, expired) = {
                    let meta = handle.meta();
                    (meta.state, meta.expired)
                };
                if current == ObjectState::Deleted {
                    return Ok(None);
                }
                // An expired object is loaded by the SELECT below, which refreshes it in
                // place, or finds that its row is gone (deleted elsewhere): then `None`.
                if !expired {
                    return Ok(Obj::from_handle(handle));
                }
            }
        } else {
            return Ok(None);
        }
        self.shared.autoflush(&mut state)?;
        let found = self.shared.load_by_key(&mut state, mapper, &values)?;
        found
            .map(|handle| {
                Obj::from_handle(handle).ok_or_else(|| {
                    Error::InvalidRequest("identity map entry has another type".into())
                })
            })
            .transpose()
    }

    /// Loads every column of `obj` from the database again, discarding unflushed changes.
    pub fn refresh<M: Model>(&self, obj: &Obj<M>) -> Result<()> {
        let mut state = self.shared.lock();
        self.shared.refresh_handle(&mut state, &obj.handle())
    }

    /// Marks `obj` expired: its next access reloads it.
    pub fn expire<M: Model>(&self, obj: &Obj<M>) {
        expire(&obj.handle());
    }

    /// Expires every object in the session.
    pub fn expire_all(&self) {
        let state = self.shared.lock();
        for obj in state.identity.values() {
            expire(obj);
        }
    }

    /// Removes `obj` from the session: it becomes detached (or transient if it was pending).
    pub fn expunge<M: Model>(&self, obj: &Obj<M>) {
        let mut state = self.shared.lock();
        let handle = obj.handle();
        let addr = handle.addr();
        state.new.retain(|o| o.addr() != addr);
        state.deleted.retain(|o| o.addr() != addr);
        state.touched.retain(|o| o.addr() != addr);
        let mut meta = obj.meta();
        if let Some(key) = meta.key.clone() {
            state.identity.remove(&identity_key(&*handle, key));
        }
        meta.state = match meta.state {
            ObjectState::Pending | ObjectState::Transient => ObjectState::Transient,
            _ => ObjectState::Detached,
        };
        meta.session = None;
    }

    /// Copies the state of `model` onto the session's object with the same primary key
    /// (loading it, or adding `model` as a new pending object when no row exists) and returns
    /// that object — SQLAlchemy's `merge`.
    ///
    /// Relationships with the merge cascade (on by default) are merged too: each related
    /// object `model` holds is merged by its own key, and the merged objects become the
    /// target's (a collection is replaced by them, so the next flush links the new ones and
    /// unlinks the others). A relationship field left at its default leaves the target's as
    /// it is.
    pub fn merge<M: Model>(&self, model: M) -> Result<Obj<M>> {
        let source = Obj::new(model);
        let merged = self.shared.merge_handle(&source.handle())?;
        Obj::from_handle(merged)
            .ok_or_else(|| Error::InvalidRequest("identity map entry has another type".into()))
    }

    /// Begins a savepoint (SQLAlchemy's `begin_nested`): changes flushed after it can be
    /// rolled back alone. Pending changes are flushed first.
    ///
    /// The `SAVEPOINT` itself is sent lazily, as SQLAlchemy does: when the savepoint's work
    /// first needs the database (a flush with something to write, a query, a load, an
    /// `execute`). A savepoint that never does sends nothing, neither `SAVEPOINT` nor
    /// `RELEASE`/`ROLLBACK TO`; rolling it back still puts the objects back (pending ones
    /// become transient, and every object is expired), as for one that was opened.
    ///
    /// ```
    /// # mod retort { pub(crate) use retort_core as core; pub(crate) use retort_orm as orm; }
    /// use std::sync::{Arc, Mutex};
    /// use retort_orm::{Registry, Session};
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
    /// let sent = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&sent);
    /// engine.on_execute(move |sql, _| log.lock().unwrap().push(sql.to_owned()));
    ///
    /// let session = Session::new(&engine);
    /// session.begin_nested()?.commit()?;          // no work: nothing sent
    /// assert!(sent.lock().unwrap().is_empty());
    ///
    /// let nested = session.begin_nested()?;
    /// session.add(User { name: Some("Ann".into()), ..Default::default() });
    /// nested.rollback()?;                          // never flushed: still nothing sent
    /// assert!(sent.lock().unwrap().is_empty());
    ///
    /// let nested = session.begin_nested()?;
    /// session.add(User { name: Some("Bob".into()), ..Default::default() });
    /// nested.commit()?;                            // BEGIN, SAVEPOINT, INSERT, RELEASE
    /// let kinds: Vec<String> = sent.lock().unwrap().iter()
    ///     .map(|s| s.split(' ').next().unwrap_or("").to_owned()).collect();
    /// assert_eq!(kinds, ["BEGIN", "SAVEPOINT", "INSERT", "RELEASE"]);
    /// # Ok(()) }
    /// ```
    pub fn begin_nested(&self) -> Result<NestedTransaction<'_>> {
        let mut state = self.shared.lock();
        self.shared.flush_locked(&mut state)?;
        state.last_savepoint += 1;
        let id = state.last_savepoint;
        let (inserted_mark, removed_mark) = (state.inserted.len(), state.removed.len());
        state.savepoints.push(Savepoint {
            id,
            name: None,
            inserted_mark,
            removed_mark,
        });
        Ok(NestedTransaction {
            session: self,
            id,
            done: false,
        })
    }

    /// Runs `f` with autoflush suspended (SQLAlchemy's `no_autoflush` block).
    pub fn no_autoflush<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        self.shared.lock().no_autoflush += 1;
        let result = f(self);
        let mut state = self.shared.lock();
        state.no_autoflush = state.no_autoflush.saturating_sub(1);
        result
    }

    /// A query of `M` objects: `session.query::<User>().filter(...).all()`.
    pub fn query<M: Model>(&self) -> Query<'_, M> {
        Query::new(self)
    }

    /// Runs a `select(User)`-style statement and returns the objects: SQLAlchemy 2.0's
    /// `session.scalars(select(User))`.
    pub fn scalars<M: Model>(&self, select: &query::ModelSelect<M>) -> Result<Vec<Obj<M>>> {
        select.clone().run(self, false)
    }

    /// Runs any Core statement in the session's transaction (after autoflush) and returns its
    /// rows: SQLAlchemy 2.0's `session.execute(stmt)`.
    ///
    /// An UPDATE or DELETE keeps the session's objects in step with the rows it changes, as
    /// SQLAlchemy's `synchronize_session="fetch"` does: when objects of its table are loaded,
    /// the keys of the rows it will change are selected first; afterwards those objects are
    /// expired (so they reload the new values) or marked deleted. An object whose UPDATE moves
    /// its primary key is detached; an object with an unflushed change keeps that change.
    /// Textual SQL (`text(..)`) is run as it is: its effect cannot be known.
    pub fn execute(&self, stmt: &impl Executable) -> Result<CursorResult> {
        self.shared.run_rows(stmt, &[])
    }

    /// [`execute`](Self::execute) with values for the statement's
    /// [`bindparam`](retort_core::sql::bindparam)s, by name: SQLAlchemy 2.0's
    /// `session.execute(stmt, {"id": 5})`. An UPDATE or DELETE keeps the session's objects
    /// in step as `execute` does, selecting their keys with the same values. A missing or
    /// unknown name is an [`Error::Argument`] and changes nothing.
    pub fn execute_with(
        &self,
        stmt: &impl Executable,
        params: &[(&str, Value)],
    ) -> Result<CursorResult> {
        self.shared.run_rows(stmt, params)
    }

    /// Whether the session holds changes not yet flushed: new or deleted objects, or objects
    /// written or relinked since the last flush. Like SQLAlchemy's `session.new`,
    /// `session.dirty` and `session.deleted` together, this is optimistic: an object written
    /// and then set back to its loaded values still counts (the flush sends nothing for it).
    /// [`Session::is_modified`] tells whether one object really changed.
    pub fn has_changes(&self) -> bool {
        let state = self.shared.lock();
        !state.new.is_empty() || !state.deleted.is_empty() || !state.touched.is_empty()
    }

    /// Whether `obj` has changes the next flush would write: SQLAlchemy's
    /// `Session.is_modified(instance)`, with collections included as its default is.
    ///
    /// - A persistent (or deleted) object is modified when a column's value differs from the
    ///   one last loaded or flushed — writing the same value back is no change — or when a
    ///   relationship field of its own was changed since the last flush (`push`, `remove`,
    ///   `set`; pushing and then removing the same object cancels out). The other side of a
    ///   `back_populates` pair follows in memory but counts only once the flush has written
    ///   its foreign key.
    /// - A pending object is always modified: the next flush INSERTs it.
    /// - An expired object is not: its unflushed changes were discarded, and nothing is loaded
    ///   to answer (no SQL is sent).
    /// - After a flush or a commit, an object is not modified until it is changed again.
    ///
    /// Errors: [`Error::InvalidRequest`] when `obj` is not in this session (transient,
    /// detached, or another session's), or while a write guard of it is alive (its values
    /// cannot be read then).
    ///
    /// ```
    /// # mod retort { pub(crate) use retort_core as core; pub(crate) use retort_orm as orm; }
    /// use retort_orm::{Registry, Session};
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
    /// let ann = session.add(User { name: Some("Ann".into()), ..Default::default() });
    /// assert!(session.is_modified(&ann)?);        // pending: the next flush INSERTs it
    /// session.flush()?;
    /// assert!(!session.is_modified(&ann)?);
    ///
    /// ann.write()?.name = Some("Anna".into());
    /// assert!(session.is_modified(&ann)?);
    /// ann.write()?.name = Some("Ann".into());     // back to the flushed value
    /// assert!(!session.is_modified(&ann)?);
    /// assert!(session.has_changes());             // written, though: optimistic
    /// # Ok(()) }
    /// ```
    pub fn is_modified<M: Model>(&self, obj: &Obj<M>) -> Result<bool> {
        let handle = obj.handle();
        let (state, touched, expired, committed) = {
            let meta = obj.meta();
            if !self.shared.owns(&meta) {
                return Err(Error::InvalidRequest(format!(
                    "the {} object is not in this session ({:?}), so it has no loaded values \
                     to compare with",
                    M::mapper().model_name(),
                    meta.state
                )));
            }
            (
                meta.state,
                meta.touched,
                meta.expired,
                meta.committed.clone(),
            )
        };
        if state == ObjectState::Pending {
            return Ok(true);
        }
        if expired {
            return Ok(false);
        }
        if touched {
            // A write without a snapshot (made while the object was being deleted) cannot be
            // compared: count it.
            let Some(committed) = committed else {
                return Ok(true);
            };
            if *handle.values()? != *committed {
                return Ok(true);
            }
        }
        for index in 0..M::mapper().relationship_properties().len() {
            let mut changed = false;
            handle.relation(index, &mut |slot| {
                let (added, removed) = slot.changes();
                changed = !added.is_empty() || !removed.is_empty();
            })?;
            if changed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How many objects the identity map holds.
    pub fn identity_count(&self) -> usize {
        self.shared.lock().identity.len()
    }

    pub(crate) fn shared(&self) -> &SessionShared {
        &self.shared
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Returning the connection rolls back an open transaction; the objects outlive the
        // session as detached (pending ones as transient), as after close().
        let mut state = self.shared.lock();
        state.conn = None;
        let pending = std::mem::take(&mut state.new);
        for obj in state.identity.drain().chain(pending) {
            // An object nobody else holds is freed here; no one can see its state.
            if Arc::strong_count(&obj) == 1 {
                continue;
            }
            let mut meta = obj.meta();
            meta.state = match meta.state {
                ObjectState::Pending => ObjectState::Transient,
                _ => ObjectState::Detached,
            };
            meta.session = None;
        }
    }
}
