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
use std::sync::atomic::{AtomicU64, Ordering};
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

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// A unit of work against one engine. Not shared between threads at once, but it and its
/// objects may be moved to another thread.
pub struct Session {
    shared: Arc<SessionShared>,
}

pub(crate) struct SessionShared {
    id: u64,
    engine: Engine,
    options: SessionOptions,
    state: Mutex<SessionState>,
    this: Weak<SessionShared>,
}

/// A pending object and the columns its INSERT left to the database.
struct Inserted {
    obj: Arc<dyn ObjHandle>,
    generated: Vec<usize>,
    /// The object's write count when its values were read for the INSERT.
    writes: u64,
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
}

struct Savepoint {
    name: String,
    inserted_mark: usize,
    removed_mark: usize,
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
}

impl SessionShared {
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic inside a session method leaves the state as consistent as an error would;
        // carry on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn link(&self) -> Weak<dyn SessionLink> {
        let weak: Weak<dyn SessionLink> = self.this.clone();
        weak
    }

    /// The connection of the current transaction, beginning one if none is open.
    fn connection<'s>(&self, state: &'s mut SessionState) -> Result<&'s mut Connection> {
        if let Some(message) = &state.pending_rollback {
            return Err(Error::PendingRollback(message.clone()));
        }
        if state.conn.is_none() {
            let mut conn = self.engine.connect()?;
            conn.begin_transaction()?;
            state.conn = Some(conn);
        }
        state
            .conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("the session has no connection".into()))
    }

    /// `SELECT <columns> FROM t WHERE <pk> = ...`: the one row with primary key `key`.
    fn select_by_key(
        &self,
        state: &mut SessionState,
        mapper: &Mapper,
        key: &[Value],
    ) -> Result<Option<retort_core::Row>> {
        let dialect = self.engine.dialect_ref();
        let sql = mapper.cached_sql("select_by_key", &*dialect, || {
            query::select_by_key(mapper, key)
        })?;
        self.connection(state)?.exec_driver_sql(&sql, key)?.first()
    }

    fn execute(&self, state: &mut SessionState, stmt: &impl Executable) -> Result<CursorResult> {
        self.connection(state)?.execute(stmt)
    }

    fn attach(&self, obj: &Arc<dyn ObjHandle>, new_state: ObjectState) {
        let mut meta = obj.meta();
        meta.state = new_state;
        meta.session = Some(self.link());
        meta.session_id = self.id;
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
        for (i, value) in row.into_values().into_iter().enumerate() {
            obj.set_value(i, value)?;
        }
        let mut meta = obj.meta();
        meta.expired = false;
        // The reload discarded any unflushed change: the next write must take a new
        // snapshot and register the object again, or its change would be lost.
        meta.committed = None;
        meta.touched = false;
        Ok(())
    }

    fn flush_locked(&self, state: &mut SessionState) -> Result<()> {
        if let Some(message) = &state.pending_rollback {
            return Err(Error::PendingRollback(message.clone()));
        }
        let touched: Vec<Arc<dyn ObjHandle>> = std::mem::take(&mut state.touched);
        // An object under a live write guard cannot be read. Refuse before anything is sent,
        // with every change still registered, so that nothing is lost and the session stays
        // usable: the next flush, once the guard is dropped, writes it all.
        let plan = check_readable(state.new.iter().chain(&state.deleted).chain(&touched))
            .and_then(|()| collect_updates(&touched));
        let (changes, seen) = match plan {
            Ok(plan) => plan,
            Err(err) => {
                state.touched = touched;
                return Err(err);
            }
        };
        if state.new.is_empty() && state.deleted.is_empty() && changes.is_empty() {
            settle_touched(state, seen);
            return Ok(());
        }
        match self.run_flush(state, &changes) {
            Ok(inserted) => {
                rekey_updated(state, &changes);
                self.finish_flush(state, inserted, seen);
                Ok(())
            }
            Err(err) => {
                // Nothing of a failed flush may stay in the database, and the session refuses
                // work until the user rolls it back. Inside a savepoint only the savepoint is
                // lost: rolling it back (SQLAlchemy's `begin_nested` on error) lets the outer
                // transaction go on. Outside one, end the transaction now.
                let message = if state.savepoints.is_empty() {
                    if let Some(mut conn) = state.conn.take() {
                        if conn.rollback_transaction().is_err() {
                            conn.invalidate();
                        }
                    }
                    format!(
                        "this session's transaction was rolled back after a failed flush \
                         ({err}); call rollback() before using the session again"
                    )
                } else {
                    format!(
                        "a flush inside a savepoint failed ({err}); roll back the savepoint \
                         (or call rollback()) before using the session again"
                    )
                };
                state.touched = touched;
                state.pending_rollback = Some(message);
                Err(err)
            }
        }
    }

    /// Emits the statements of a flush. Object states change only once all of them succeed.
    fn run_flush(&self, state: &mut SessionState, changes: &[Update]) -> Result<Vec<Inserted>> {
        // Ask the connection, not the engine: what the server can do (MariaDB's RETURNING)
        // is known only once a connection has been made.
        let caps = self.connection(state)?.dialect().capabilities();
        let mut mappers: Vec<&'static Mapper> = Vec::new();
        for obj in state.new.iter().chain(&state.deleted) {
            if !mappers.iter().any(|m| std::ptr::eq(*m, obj.mapper())) {
                mappers.push(obj.mapper());
            }
        }
        let order = uow::dependency_order(&mappers);
        let new = std::mem::take(&mut state.new);
        let mut inserted = Vec::with_capacity(new.len());
        let result = (|| {
            for mapper in &order {
                let objs: Vec<&Arc<dyn ObjHandle>> = new
                    .iter()
                    .filter(|o| std::ptr::eq(o.mapper(), *mapper))
                    .collect();
                if !objs.is_empty() {
                    self.insert_objects(state, mapper, &objs, &caps, &mut inserted)?;
                }
            }
            for update in changes {
                self.update_object(state, update)?;
            }
            let deleted = state.deleted.clone();
            for mapper in order.iter().rev() {
                let objs: Vec<&Arc<dyn ObjHandle>> = deleted
                    .iter()
                    .filter(|o| std::ptr::eq(o.mapper(), *mapper))
                    .collect();
                if !objs.is_empty() {
                    self.delete_objects(state, mapper, &objs, &caps)?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(inserted),
            Err(err) => {
                // The rows of INSERTs that did succeed are rolled back with the flush: the
                // keys and defaults they gave their objects must go too, so the objects are
                // as they were added (the generated columns were NULL, or they would have
                // been sent).
                for entry in &inserted {
                    for &g in &entry.generated {
                        let _ = entry.obj.set_value(g, Value::Null);
                    }
                    entry.obj.meta().expired = false;
                }
                state.new = new;
                Err(err)
            }
        }
    }

    fn insert_objects(
        &self,
        state: &mut SessionState,
        mapper: &'static Mapper,
        objs: &[&Arc<dyn ObjHandle>],
        caps: &retort_core::dialect::Capabilities,
        inserted: &mut Vec<Inserted>,
    ) -> Result<()> {
        if let Some(vi) = mapper.version_column() {
            // A new row starts at version 1, as SQLAlchemy's version counter does.
            for obj in objs {
                obj.set_value(vi, Value::Int(1))?;
            }
        }
        let writes: Vec<u64> = objs.iter().map(|o| o.meta().writes).collect();
        let values: Vec<Vec<Value>> = objs.iter().map(|o| o.values()).collect::<Result<_>>()?;
        // Consecutive objects that send the same columns share a statement.
        let mut groups = Vec::new();
        let mut start = 0;
        while start < objs.len() {
            let sent = uow::insert_columns(mapper, &values[start]);
            let mut end = start + 1;
            while end < objs.len() && uow::sends_same(mapper, &values[end], &sent) {
                end += 1;
            }
            groups.push((start, end, sent));
            start = end;
        }
        let mut values = values.into_iter();
        for (start, end, sent) in groups {
            let rows: Vec<Vec<Value>> = values.by_ref().take(end - start).collect();
            let generated = uow::generated_columns(mapper, &sent);
            let mut offset = start;
            for batch in uow::insert_batches(mapper, &sent, rows, caps)? {
                let group = &objs[offset..offset + batch.rows];
                let result = self.execute(state, &batch.statement)?;
                if !batch.returning.is_empty() {
                    assign_returned(mapper, group, &batch, result)?;
                } else if !generated.is_empty() {
                    // One row per statement: the driver reports the generated key.
                    let pk = mapper.primary_key();
                    if let (Some(id), [key]) = (result.last_insert_id(), pk) {
                        if generated.contains(key) {
                            group[0].set_value(*key, Value::Int(id))?;
                        }
                    }
                    // Other server-generated values are loaded on next access.
                    if generated.iter().any(|g| !pk.contains(g)) {
                        group[0].meta().expired = true;
                    }
                }
                for (obj, &writes) in group.iter().zip(&writes[offset..]) {
                    inserted.push(Inserted {
                        obj: Arc::clone(obj),
                        generated: generated.clone(),
                        writes,
                    });
                }
                offset += batch.rows;
            }
        }
        Ok(())
    }

    fn update_object(&self, state: &mut SessionState, update: &Update) -> Result<()> {
        let mapper = update.obj.mapper();
        let stmt =
            uow::update_statement(mapper, &update.key, &update.changed, update.version.clone());
        let matched = self.execute(state, &stmt)?.rowcount();
        if matched != 1 {
            return Err(Error::StaleData(format!(
                "UPDATE of a {} row expected to match 1 row; {matched} matched (the row was \
                 changed or deleted by another transaction)",
                mapper.model_name()
            )));
        }
        if let (Some(vi), Some((_, new))) = (mapper.version_column(), &update.version) {
            update.obj.set_value(vi, new.clone())?;
        }
        Ok(())
    }

    fn delete_objects(
        &self,
        state: &mut SessionState,
        mapper: &'static Mapper,
        objs: &[&Arc<dyn ObjHandle>],
        caps: &retort_core::dialect::Capabilities,
    ) -> Result<()> {
        let keys = objs
            .iter()
            .map(|o| {
                let values = o.values()?;
                let key = mapper
                    .primary_key()
                    .iter()
                    .map(|&i| values[i].clone())
                    .collect();
                let version = mapper.version_column().map(|vi| values[vi].clone());
                Ok((key, version))
            })
            .collect::<Result<Vec<_>>>()?;
        for (stmt, expected) in uow::delete_statements(mapper, &keys, caps) {
            let matched = self.execute(state, &stmt)?.rowcount();
            if matched != expected as u64 {
                return Err(Error::StaleData(format!(
                    "DELETE of {} row(s) expected to match {expected}; {matched} matched",
                    mapper.model_name()
                )));
            }
        }
        Ok(())
    }

    fn finish_flush(&self, state: &mut SessionState, inserted: Vec<Inserted>, seen: Vec<Seen>) {
        state.identity.reserve(inserted.len());
        for entry in &inserted {
            let key_values = entry.obj.key_values().ok();
            let key = key_values.as_deref().and_then(Key::from_values);
            let mut meta = entry.obj.meta();
            meta.state = ObjectState::Persistent;
            if meta.writes == entry.writes {
                meta.committed = None;
                meta.touched = false;
            } else {
                // Written while its INSERT was on the way: the values sent are not known any
                // more, so the next flush compares with a row of NULLs (but the key and the
                // version the row was inserted with), and writes every column it has.
                meta.committed = Some(insert_baseline(entry.obj.mapper(), key_values.clone()));
                meta.touched = true;
                state.touched.push(Arc::clone(&entry.obj));
            }
            if let Some(key) = key {
                meta.key = Some(key.clone());
                drop(meta);
                // Keys are unique in the database, which just accepted the row.
                let _ = state
                    .identity
                    .insert(identity_key(&*entry.obj, key), Arc::clone(&entry.obj));
            }
        }
        state.inserted.extend(inserted);
        settle_touched(state, seen);
        for obj in std::mem::take(&mut state.deleted) {
            let key = obj.meta().key.clone();
            if let Some(key) = key {
                state.identity.remove(&identity_key(&*obj, key));
            }
            state.removed.push(obj);
        }
    }

    /// The objects' side of a commit: deleted ones leave the session, inserted ones stay
    /// persistent, and with `expire` every object reloads on next access.
    fn finish_commit(&self, state: &mut SessionState, expire: bool) {
        state.inserted.clear();
        for obj in state.removed.drain(..) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Detached;
            meta.session = None;
            meta.session_id = 0;
            meta.key = None;
        }
        if expire {
            for obj in state.identity.values() {
                let mut meta = obj.meta();
                // An object written after the flush read it keeps that change for the next
                // flush; expiring it would throw the change away.
                if !meta.touched {
                    meta.expired = true;
                }
            }
        }
    }

    /// Ends the transaction (committing or rolling back) and returns the connection.
    fn end_transaction(&self, state: &mut SessionState, commit: bool) -> Result<()> {
        state.savepoints.clear();
        let Some(mut conn) = state.conn.take() else {
            return Ok(());
        };
        if commit {
            conn.commit_transaction()
        } else {
            let result = conn.rollback_transaction();
            if result.is_err() {
                conn.invalidate();
            }
            result
        }
    }

    /// Restores the in-memory state after a rollback to the start of the transaction (or of
    /// the savepoint whose marks are given).
    fn restore_after_rollback(
        &self,
        state: &mut SessionState,
        inserted_mark: usize,
        removed_mark: usize,
    ) {
        for entry in state.inserted.drain(inserted_mark..) {
            let key = entry.obj.meta().key.take();
            if let Some(key) = key {
                state.identity.remove(&identity_key(&*entry.obj, key));
            }
            // A key the database generated for a row that no longer exists must not linger.
            for &g in &entry.generated {
                let _ = entry.obj.set_value(g, Value::Null);
            }
            let mut meta = entry.obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
            meta.session_id = 0;
            meta.expired = false;
            meta.touched = false;
        }
        for obj in state.removed.drain(removed_mark..) {
            obj.meta().state = ObjectState::Persistent;
            let key = obj.meta().key.clone();
            if let Some(key) = key {
                let _ = state
                    .identity
                    .insert(identity_key(&*obj, key), Arc::clone(&obj));
            }
        }
        for obj in std::mem::take(&mut state.deleted) {
            obj.meta().state = ObjectState::Persistent;
        }
        for obj in state.identity.values() {
            let mut meta = obj.meta();
            meta.expired = true;
            meta.committed = None;
            meta.touched = false;
        }
        state.touched.clear();
    }

    /// The object for a row of `M` (all mapper columns, in order): the one already in the
    /// identity map, refreshed if it was expired, or a new persistent one.
    fn hydrate<M: Model>(&self, state: &mut SessionState, values: Vec<Value>) -> Result<Obj<M>> {
        let mapper = M::mapper();
        let key = Key::from_values(mapper.primary_key().iter().map(|&i| &values[i])).ok_or_else(
            || {
                Error::InvalidRequest(format!(
                    "a {} row came back with a NULL primary key",
                    mapper.model_name()
                ))
            },
        )?;
        let ikey = IdentityKey {
            model: TypeId::of::<M>(),
            key,
        };
        match state.identity.entry(ikey) {
            Entry::Occupied(entry) => {
                let existing = Arc::clone(entry.get());
                let expired = existing.meta().expired;
                if expired {
                    for (i, value) in values.into_iter().enumerate() {
                        existing.set_value(i, value)?;
                    }
                    let mut meta = existing.meta();
                    meta.expired = false;
                    meta.committed = None;
                    meta.touched = false;
                }
                Obj::from_handle(existing).ok_or_else(|| {
                    Error::InvalidRequest("identity map entry has another type".into())
                })
            }
            Entry::Vacant(entry) => {
                let meta = ObjMeta {
                    state: ObjectState::Persistent,
                    session: Some(self.link()),
                    session_id: self.id,
                    committed: None,
                    expired: false,
                    touched: false,
                    writes: 0,
                    key: Some(entry.key().key.clone()),
                };
                let obj = Obj::with_meta(M::from_values(values)?, meta);
                entry.insert(obj.handle());
                Ok(obj)
            }
        }
    }

    /// Runs a query of `M`'s columns and returns its objects. With `unique`, an object that
    /// several rows map to (a join's repeats) is returned once, at its first position.
    pub(crate) fn run_query<M: Model>(
        &self,
        stmt: &Statement,
        unique: bool,
    ) -> Result<Vec<Obj<M>>> {
        let mut state = self.lock();
        self.autoflush(&mut state)?;
        let rows = self.execute(&mut state, stmt)?.into_rows();
        state.identity.reserve(rows.len());
        let mut objs = Vec::with_capacity(rows.len());
        let mut seen = std::collections::HashSet::new();
        for row in rows {
            let obj = self.hydrate::<M>(&mut state, row.into_values())?;
            if !unique || seen.insert(obj.handle().addr()) {
                objs.push(obj);
            }
        }
        Ok(objs)
    }

    /// Runs any statement after autoflush. An UPDATE or DELETE also brings the objects it
    /// changes into step (SQLAlchemy's `synchronize_session="fetch"`): before it runs, the
    /// keys of the rows it will change are selected — only if objects of its table are loaded
    /// — and afterwards those objects are expired (UPDATE) or marked deleted (DELETE). Other
    /// objects are left as they are.
    pub(crate) fn run_rows(&self, stmt: &impl Executable) -> Result<CursorResult> {
        let mut state = self.lock();
        self.autoflush(&mut state)?;
        let Some(dml) = stmt.dml() else {
            return self.execute(&mut state, stmt);
        };
        let changing = self.objects_changed_by(&mut state, dml)?;
        let result = self.execute(&mut state, stmt)?;
        synchronize(&mut state, dml, changing);
        Ok(result)
    }

    /// The loaded objects whose rows `dml` will change, found by selecting their keys with
    /// the statement's own WHERE (and the other tables it names) in the same transaction.
    fn objects_changed_by(
        &self,
        state: &mut SessionState,
        dml: Dml<'_>,
    ) -> Result<Vec<Arc<dyn ObjHandle>>> {
        let (table, where_) = match dml {
            Dml::Update(u) => (&u.table, &u.where_),
            Dml::Delete(d) => (&d.table, &d.where_),
        };
        let loaded: Vec<Arc<dyn ObjHandle>> = state
            .identity
            .values()
            .filter(|o| o.mapper().table_name() == &*table.name)
            .cloned()
            .collect();
        let Some(where_) = where_ else {
            return Ok(loaded);
        };
        let mut mappers: Vec<&'static Mapper> = Vec::new();
        for obj in &loaded {
            if !mappers.iter().any(|m| std::ptr::eq(*m, obj.mapper())) {
                mappers.push(obj.mapper());
            }
        }
        let mut changing = Vec::new();
        for mapper in mappers {
            let keys: Vec<Expr> = mapper
                .primary_key()
                .iter()
                .map(|&i| {
                    let column = &mapper.columns()[i];
                    Expr::Column(ColumnRef {
                        table: Some(table.clone()),
                        name: Arc::from(column.name),
                        sql_type: Some(column.sql_type.clone()),
                    })
                })
                .collect();
            let select = Statement::Query(CoreQuery::Select(Box::new(SelectCore {
                columns: keys,
                from: vec![FromItem::Table(table.clone())],
                where_: Some(where_.clone()),
                distinct: true,
                ..SelectCore::default()
            })));
            let matched: HashSet<Key> = self
                .execute(state, &select)?
                .into_rows()
                .into_iter()
                .filter_map(|row| Key::from_values(&row.into_values()))
                .collect();
            changing.extend(loaded.iter().filter(|o| {
                std::ptr::eq(o.mapper(), mapper)
                    && o.meta().key.as_ref().is_some_and(|k| matched.contains(k))
            }));
        }
        Ok(changing.into_iter().cloned().collect())
    }
}

/// Brings the objects whose rows `dml` changed into step with the database.
fn synchronize(state: &mut SessionState, dml: Dml<'_>, changed: Vec<Arc<dyn ObjHandle>>) {
    match dml {
        Dml::Update(update) => {
            for obj in changed {
                let pk = obj.mapper().primary_key();
                let moves_key = update.set.iter().any(|(name, _)| {
                    pk.iter()
                        .any(|&i| obj.mapper().columns()[i].name == &**name)
                });
                let mut meta = obj.meta();
                if meta.touched {
                    // An unflushed change (autoflush is off) stays, to be written by the next
                    // flush; expiring the object would throw it away.
                    continue;
                }
                meta.expired = true;
                meta.committed = None;
                if moves_key {
                    // The row now has a key the session cannot know: the object leaves the
                    // session rather than load another row, or none, by its old key.
                    let key = meta.key.take();
                    meta.state = ObjectState::Detached;
                    meta.session = None;
                    meta.session_id = 0;
                    drop(meta);
                    if let Some(key) = key {
                        state.identity.remove(&identity_key(&*obj, key));
                    }
                }
            }
        }
        Dml::Delete(_) => {
            for obj in changed {
                let addr = obj.addr();
                state.deleted.retain(|o| o.addr() != addr);
                state.touched.retain(|o| o.addr() != addr);
                let key = {
                    let mut meta = obj.meta();
                    meta.state = ObjectState::Deleted;
                    meta.touched = false;
                    meta.committed = None;
                    meta.key.clone()
                };
                if let Some(key) = key {
                    state.identity.remove(&identity_key(&*obj, key));
                }
                // As for a flushed delete: detached at commit, back at rollback.
                state.removed.push(obj);
            }
        }
    }
}

/// A change to flush for one persistent object.
struct Update {
    obj: Arc<dyn ObjHandle>,
    key: Vec<Value>,
    changed: Vec<(usize, Value)>,
    version: Option<(Value, Value)>,
}

/// A touched object as a flush found it: its write count before the flush read it, and for a
/// persistent object the values the flush wrote (the snapshot for a later change).
struct Seen {
    obj: Arc<dyn ObjHandle>,
    writes: u64,
    flushed: Option<Vec<Value>>,
}

/// Fails, naming the model, if any of `objs` is borrowed for writing.
fn check_readable<'a>(mut objs: impl Iterator<Item = &'a Arc<dyn ObjHandle>>) -> Result<()> {
    objs.try_for_each(|obj| {
        obj.check_readable().map_err(|err| {
            Error::InvalidRequest(format!(
                "cannot flush: {err}. Nothing was sent, and the session's changes stay pending \
                 for the next flush",
            ))
        })
    })
}

/// The changed columns of each touched persistent object, compared with its snapshot, and
/// what the flush saw of every touched object.
fn collect_updates(touched: &[Arc<dyn ObjHandle>]) -> Result<(Vec<Update>, Vec<Seen>)> {
    let mut updates = Vec::new();
    let mut seen = Vec::with_capacity(touched.len());
    let mut addrs = std::collections::HashSet::new();
    for obj in touched {
        if !addrs.insert(obj.addr()) {
            continue;
        }
        let (committed, writes) = {
            let meta = obj.meta();
            let committed = match meta.state {
                ObjectState::Persistent => meta.committed.clone(),
                _ => None,
            };
            (committed, meta.writes)
        };
        let Some(committed) = committed else {
            seen.push(Seen {
                obj: Arc::clone(obj),
                writes,
                flushed: None,
            });
            continue;
        };
        let current = obj.values()?;
        let mapper = obj.mapper();
        let changed: Vec<(usize, Value)> = current
            .iter()
            .zip(&committed)
            .enumerate()
            .filter(|(_, (now, before))| now != before)
            .map(|(i, (now, _))| (i, now.clone()))
            .collect();
        if changed.is_empty() {
            seen.push(Seen {
                obj: Arc::clone(obj),
                writes,
                flushed: Some(current),
            });
            continue;
        }
        let key = mapper
            .primary_key()
            .iter()
            .map(|&i| committed[i].clone())
            .collect();
        let version = mapper.version_column().map(|vi| {
            let old = committed[vi].clone();
            let new = match &old {
                Value::Int(n) => Value::Int(n.saturating_add(1)),
                _ => Value::Int(1),
            };
            (old, new)
        });
        let mut flushed = current;
        if let (Some(vi), Some((_, new))) = (mapper.version_column(), &version) {
            flushed[vi] = new.clone();
        }
        updates.push(Update {
            obj: Arc::clone(obj),
            key,
            changed,
            version,
        });
        seen.push(Seen {
            obj: Arc::clone(obj),
            writes,
            flushed: Some(flushed),
        });
    }
    Ok((updates, seen))
}

/// Objects whose UPDATE changed their primary key move to their new identity key, so that
/// the row is still found as the same object.
fn rekey_updated(state: &mut SessionState, changes: &[Update]) {
    for update in changes {
        let pk = update.obj.mapper().primary_key();
        if !update.changed.iter().any(|(i, _)| pk.contains(i)) {
            continue;
        }
        let old = update.obj.meta().key.take();
        if let Some(old) = old {
            state.identity.remove(&identity_key(&*update.obj, old));
        }
        let new = update
            .obj
            .key_values()
            .ok()
            .and_then(|k| Key::from_values(&k));
        if let Some(new) = new {
            update.obj.meta().key = Some(new.clone());
            // The database just accepted the new key, so no other row holds it.
            let _ = state
                .identity
                .insert(identity_key(&*update.obj, new), Arc::clone(&update.obj));
        }
    }
}

/// Unregisters the touched objects a flush has written — except those written again since
/// the flush read them: they stay registered, compared next time with what was flushed.
fn settle_touched(state: &mut SessionState, seen: Vec<Seen>) {
    for entry in seen {
        let mut meta = entry.obj.meta();
        if meta.writes == entry.writes {
            meta.touched = false;
            meta.committed = None;
        } else if let Some(flushed) = entry.flushed {
            meta.committed = Some(flushed);
            drop(meta);
            state.touched.push(entry.obj);
        }
        // A written object without a snapshot (a pending one) was settled by its INSERT.
    }
}

/// What a next flush compares an object written during its INSERT with: NULL everywhere but
/// the primary key and the version counter, so every column the object has is written.
fn insert_baseline(mapper: &Mapper, key_values: Option<Vec<Value>>) -> Vec<Value> {
    let mut baseline = vec![Value::Null; mapper.columns().len()];
    for (&i, value) in mapper
        .primary_key()
        .iter()
        .zip(key_values.unwrap_or_default())
    {
        baseline[i] = value;
    }
    if let Some(vi) = mapper.version_column() {
        baseline[vi] = Value::Int(1);
    }
    baseline
}

/// Writes the values an INSERT ... RETURNING gave back into the objects that were inserted,
/// matching rows and objects as the batch's pairing says.
fn assign_returned(
    mapper: &Mapper,
    objs: &[&Arc<dyn ObjHandle>],
    batch: &uow::InsertBatch,
    result: CursorResult,
) -> Result<()> {
    let rows: Vec<Vec<Value>> = result
        .into_rows()
        .into_iter()
        .map(|r| r.into_values())
        .collect();
    if rows.len() != objs.len() {
        return Err(Error::InvalidRequest(format!(
            "INSERT ... RETURNING of {} {} rows returned {} rows",
            objs.len(),
            mapper.model_name(),
            rows.len()
        )));
    }
    let fill = |obj: &Arc<dyn ObjHandle>, row: Vec<Value>| -> Result<()> {
        for (&col, value) in batch.returning.iter().zip(row) {
            obj.set_value(col, value)?;
        }
        Ok(())
    };
    match batch.pairing {
        uow::Pairing::ByKey => {
            let pk = mapper.primary_key().len();
            let mut by_key: HashMap<Key, Vec<Value>> = HashMap::with_capacity(rows.len());
            for row in rows {
                if let Some(key) = Key::from_values(&row[..pk]) {
                    by_key.insert(key, row);
                }
            }
            for obj in objs {
                let row = Key::from_values(&obj.key_values()?).and_then(|k| by_key.remove(&k));
                let Some(row) = row else {
                    return Err(unmatched(mapper));
                };
                fill(obj, row)?;
            }
        }
        uow::Pairing::ByAutoincrement(at) => {
            let mut keyed = Vec::with_capacity(rows.len());
            for row in rows {
                match row.get(at) {
                    Some(Value::Int(key)) => keyed.push((*key, row)),
                    _ => return Err(unmatched(mapper)),
                }
            }
            keyed.sort_unstable_by_key(|(key, _)| *key);
            for (obj, (_, row)) in objs.iter().zip(keyed) {
                fill(obj, row)?;
            }
        }
        uow::Pairing::OneRow | uow::Pairing::Nothing => {
            for (obj, row) in objs.iter().zip(rows) {
                fill(obj, row)?;
            }
        }
    }
    Ok(())
}

fn unmatched(mapper: &Mapper) -> Error {
    Error::InvalidRequest(format!(
        "an INSERT ... RETURNING of {} rows gave back a row that matches none of the objects \
         sent",
        mapper.model_name()
    ))
}

impl Session {
    /// A session on `engine` with default options.
    pub fn new(engine: &Engine) -> Session {
        Session::with_options(engine, SessionOptions::default())
    }

    /// A session on `engine` with `options`.
    pub fn with_options(engine: &Engine, options: SessionOptions) -> Session {
        let shared = Arc::new_cyclic(|this| SessionShared {
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
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

    /// Adds a new object; it is INSERTed at the next flush. Returns its handle.
    pub fn add<M: Model>(&self, model: M) -> Obj<M> {
        let obj = Obj::new(model);
        let handle = obj.handle();
        self.shared.attach(&handle, ObjectState::Pending);
        self.shared.lock().new.push(handle);
        obj
    }

    /// Adds many new objects.
    pub fn add_all<M: Model>(&self, models: impl IntoIterator<Item = M>) -> Vec<Obj<M>> {
        let objs: Vec<Obj<M>> = models.into_iter().map(Obj::new).collect();
        let mut state = self.shared.lock();
        state.new.reserve(objs.len());
        for obj in &objs {
            let handle = obj.handle();
            self.shared.attach(&handle, ObjectState::Pending);
            state.new.push(handle);
        }
        objs
    }

    /// Adds an existing handle: a transient object becomes pending; a detached one becomes
    /// persistent in this session again.
    pub fn add_obj<M: Model>(&self, obj: &Obj<M>) -> Result<()> {
        let handle = obj.handle();
        let mut state = self.shared.lock();
        let (current, key, owner) = {
            let meta = obj.meta();
            (meta.state, meta.key.clone(), meta.session_id)
        };
        if owner != 0 && owner != self.shared.id && current != ObjectState::Detached {
            return Err(Error::InvalidRequest(format!(
                "the {} object is already attached to another session",
                M::mapper().model_name()
            )));
        }
        match (current, key) {
            (ObjectState::Transient, _) => {
                self.shared.attach(&handle, ObjectState::Pending);
                state.new.push(handle);
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
                state.new.retain(|o| o.addr() != handle.addr());
                let mut meta = obj.meta();
                meta.state = ObjectState::Transient;
                meta.session = None;
                meta.session_id = 0;
                Ok(())
            }
            ObjectState::Persistent if obj.meta().session_id == self.shared.id => {
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
        let result = self.shared.end_transaction(&mut state, false);
        for obj in std::mem::take(&mut state.new) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
            meta.session_id = 0;
        }
        self.shared.restore_after_rollback(&mut state, 0, 0);
        state.pending_rollback = None;
        result
    }

    /// Detaches every object from the session and rolls back. As in SQLAlchemy, the values
    /// an object had loaded stay readable; objects whose INSERT is undone become transient.
    pub fn close(&self) -> Result<()> {
        // Taken out of the identity map first, so that the rollback does not expire them.
        let held: Vec<Arc<dyn ObjHandle>> = self.shared.lock().identity.drain().collect();
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
            meta.session_id = 0;
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
        let row = self.shared.select_by_key(&mut state, mapper, &values)?;
        match row {
            Some(row) => self
                .shared
                .hydrate::<M>(&mut state, row.into_values())
                .map(Some),
            None => Ok(None),
        }
    }

    /// Loads every column of `obj` from the database again, discarding unflushed changes.
    pub fn refresh<M: Model>(&self, obj: &Obj<M>) -> Result<()> {
        let mut state = self.shared.lock();
        self.shared.refresh_handle(&mut state, &obj.handle())
    }

    /// Marks `obj` expired: its next access reloads it.
    pub fn expire<M: Model>(&self, obj: &Obj<M>) {
        let mut meta = obj.meta();
        meta.expired = true;
        meta.committed = None;
        meta.touched = false;
    }

    /// Expires every object in the session.
    pub fn expire_all(&self) {
        let state = self.shared.lock();
        for obj in state.identity.values() {
            let mut meta = obj.meta();
            meta.expired = true;
            meta.committed = None;
            meta.touched = false;
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
        meta.session_id = 0;
    }

    /// Copies the state of `model` onto the session's object with the same primary key
    /// (loading it, or adding a new pending object when no row exists) and returns that
    /// object. The argument itself is not added.
    pub fn merge<M: Model>(&self, model: M) -> Result<Obj<M>> {
        let mapper = M::mapper();
        let key: Vec<Value> = mapper
            .primary_key()
            .iter()
            .map(|&i| model.column_value(i))
            .collect();
        let existing = if key.iter().any(Value::is_null) {
            None
        } else {
            self.get::<M>(key)?
        };
        match existing {
            Some(obj) => {
                {
                    let mut target = obj.write()?;
                    for i in 0..mapper.columns().len() {
                        target.set_column_value(i, model.column_value(i))?;
                    }
                }
                Ok(obj)
            }
            None => Ok(self.add(model)),
        }
    }

    /// Opens a savepoint; changes flushed after it can be rolled back alone.
    pub fn begin_nested(&self) -> Result<NestedTransaction<'_>> {
        let mut state = self.shared.lock();
        self.shared.flush_locked(&mut state)?;
        let name = self.shared.connection(&mut state)?.savepoint()?;
        let marks = (state.inserted.len(), state.removed.len());
        state.savepoints.push(Savepoint {
            name: name.clone(),
            inserted_mark: marks.0,
            removed_mark: marks.1,
        });
        Ok(NestedTransaction {
            session: self,
            name,
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
        self.shared
            .run_query::<M>(&select.checked_statement()?, select.has_joins())
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
        self.shared.run_rows(stmt)
    }

    /// Whether the session holds changes not yet flushed.
    pub fn is_modified(&self) -> bool {
        let state = self.shared.lock();
        !state.new.is_empty() || !state.deleted.is_empty() || !state.touched.is_empty()
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
        let attached = state.identity.drain().chain(pending).collect::<Vec<_>>();
        for obj in attached {
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
            meta.session_id = 0;
        }
    }
}

/// A savepoint opened by [`Session::begin_nested`]; rolled back if dropped uncommitted.
pub struct NestedTransaction<'s> {
    session: &'s Session,
    name: String,
    done: bool,
}

impl NestedTransaction<'_> {
    /// Flushes and releases the savepoint, keeping its changes in the outer transaction.
    ///
    /// If the flush fails, the savepoint is rolled back (as when it is dropped) and the
    /// error returned; the outer transaction stays usable.
    pub fn commit(mut self) -> Result<()> {
        let shared = &self.session.shared;
        let mut state = shared.lock();
        // On error `self` is dropped after the lock is released, and its Drop rolls back.
        shared.flush_locked(&mut state)?;
        self.done = true;
        pop_savepoint(&mut state, &self.name);
        shared.connection(&mut state)?.release_savepoint(&self.name)
    }

    /// Rolls back to the savepoint: objects inserted after it become transient, and every
    /// object is expired.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.rollback_inner()
    }

    fn rollback_inner(&self) -> Result<()> {
        let shared = &self.session.shared;
        let mut state = shared.lock();
        let Some(sp) = pop_savepoint(&mut state, &self.name) else {
            return Ok(());
        };
        let pending_rollback = state.pending_rollback.take();
        let result = match state.conn.as_mut() {
            Some(conn) => conn.rollback_to_savepoint(&self.name),
            // The whole transaction is already gone (a failed flush rolled it back).
            None => {
                state.pending_rollback = pending_rollback;
                return Ok(());
            }
        };
        for obj in std::mem::take(&mut state.new) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
            meta.session_id = 0;
        }
        shared.restore_after_rollback(&mut state, sp.inserted_mark, sp.removed_mark);
        result
    }
}

fn pop_savepoint(state: &mut SessionState, name: &str) -> Option<Savepoint> {
    let pos = state.savepoints.iter().position(|s| s.name == name)?;
    state.savepoints.truncate(pos + 1);
    state.savepoints.pop()
}

impl Drop for NestedTransaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.rollback_inner();
        }
    }
}
