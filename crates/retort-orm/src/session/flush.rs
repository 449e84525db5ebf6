//! Flushing: the session's pending, changed and deleted objects written as INSERT, UPDATE
//! and DELETE statements, and the objects' bookkeeping once they succeed.

use super::*;
use crate::dependency::{self, DeleteContext, Plan, Sync};
use crate::identity::{FastMap, FastSet};
use crate::relationship::Relationship;
use retort_core::value::ParamRef;

/// Where a flush's statements go, worked out before any is sent.
struct Schedule {
    /// The relationship work.
    plan: Plan,
    /// INSERT batches, in order.
    inserts: Vec<Vec<Arc<dyn ObjHandle>>>,
    /// DELETE batches, in order.
    deletes: Vec<Vec<Arc<dyn ObjHandle>>>,
}

/// The session's side of [`dependency::cascade_deletes`].
struct Deleting<'a> {
    shared: &'a SessionShared,
    state: &'a mut SessionState,
}

impl DeleteContext for Deleting<'_> {
    fn load(
        &mut self,
        rel: &'static Relationship,
        owners: &[Arc<dyn ObjHandle>],
    ) -> Result<Vec<Vec<Arc<dyn ObjHandle>>>> {
        // The flush is under way: loading must not start another one.
        self.state.no_autoflush += 1;
        let loaded = self.shared.load_related(self.state, rel, owners, &[]);
        self.state.no_autoflush -= 1;
        loaded
    }

    fn delete(&mut self, obj: &Arc<dyn ObjHandle>) -> bool {
        let mut meta = obj.meta();
        match meta.state {
            ObjectState::Persistent if self.shared.owns(&meta) => {
                meta.state = ObjectState::Deleted;
                drop(meta);
                self.state.deleted.push(Arc::clone(obj));
                true
            }
            ObjectState::Pending => {
                meta.state = ObjectState::Transient;
                meta.session = None;
                drop(meta);
                let addr = obj.addr();
                self.state.new.retain(|o| o.addr() != addr);
                false
            }
            _ => false,
        }
    }
}

impl SessionShared {
    pub(super) fn flush_locked(&self, state: &mut SessionState) -> Result<()> {
        if let Some(message) = &state.pending_rollback {
            return Err(Error::PendingRollback(message.clone()));
        }
        // Nothing added, changed or deleted: nothing to plan (every query autoflushes).
        if state.touched.is_empty() && state.new.is_empty() && state.deleted.is_empty() {
            return Ok(());
        }
        // Refused before anything is taken: the changes wait for the stream's end.
        if state.lent {
            return Err(stream::lent_error());
        }
        let touched: Vec<Arc<dyn ObjHandle>> = std::mem::take(&mut state.touched);
        // An object under a live write guard cannot be read. Refuse before anything is sent,
        // with every change still registered, so that nothing is lost and the session stays
        // usable: the next flush, once the guard is dropped, writes it all.
        let plan = self.plan_relationships(state, &touched);
        let mut plan = match plan {
            Ok(plan) => plan,
            Err(err) => {
                state.touched = touched;
                return Err(err);
            }
        };
        // Deleting may load the children of what is deleted: the only part of planning that
        // sends statements, so a failure there ends the transaction like a failed flush.
        let orphans = plan.orphans();
        let cascaded = {
            let mut ctx = Deleting {
                shared: self,
                state: &mut *state,
            };
            for orphan in &orphans {
                ctx.delete(orphan);
            }
            let deleted = ctx.state.deleted.clone();
            dependency::cascade_deletes(&mut plan, deleted, &mut ctx)
        };
        if let Err(err) = cascaded {
            return Err(self.flush_failed(state, touched, err));
        }
        plan.finish();
        let ready = plan_readable(state, &plan)
            .and_then(|()| collect_updates(&touched))
            .and_then(|updates| Ok((updates, self.schedule(state, plan)?)));
        let ((mut changes, mut seen), schedule) = match ready {
            Ok(ready) => ready,
            Err(err) => {
                state.touched = touched;
                return Err(err);
            }
        };
        if schedule.inserts.is_empty()
            && schedule.deletes.is_empty()
            && changes.is_empty()
            && schedule.plan.is_empty()
        {
            settle_touched(state, seen);
            clear_relationship_changes(&schedule.plan);
            return Ok(());
        }
        match self.run_flush(state, &schedule, &mut changes, &mut seen) {
            Ok(inserted) => {
                rekey_updated(state, &changes);
                self.finish_flush(state, inserted, seen);
                clear_relationship_changes(&schedule.plan);
                Ok(())
            }
            Err(err) => Err(self.flush_failed(state, touched, err)),
        }
    }

    /// The save-update cascade, then what the relationship changes of every new, changed and
    /// deleted object mean in rows. Sends nothing.
    fn plan_relationships(
        &self,
        state: &mut SessionState,
        touched: &[Arc<dyn ObjHandle>],
    ) -> Result<Plan> {
        check_readable(state.new.iter().chain(&state.deleted).chain(touched))?;
        let reached = dependency::cascade_save(state.new.iter().chain(touched));
        check_readable(reached.iter())?;
        for obj in reached {
            self.add_pending(state, obj);
        }
        let mut plan = Plan::default();
        let mut recorded = FastSet::default();
        for obj in state.new.iter().chain(touched).chain(&state.deleted) {
            // Most new objects hold nothing related: passed over before the set of recorded
            // objects grows by one.
            if !obj.relations_inert() && recorded.insert(obj.addr()) {
                plan.record(obj)?;
            }
        }
        Ok(plan)
    }

    /// Orders the INSERTs and DELETEs: parents before children, children first when deleting.
    fn schedule(&self, state: &SessionState, plan: Plan) -> Result<Schedule> {
        let mut mappers: Vec<&'static Mapper> = Vec::new();
        for obj in state.new.iter().chain(&state.deleted) {
            if !mappers.iter().any(|m| std::ptr::eq(*m, obj.mapper())) {
                mappers.push(obj.mapper());
            }
        }
        let order = uow::dependency_order(&mappers);
        Ok(Schedule {
            inserts: dependency::insert_order(&state.new, &order, &plan.syncs)?,
            deletes: dependency::delete_order(&state.deleted, &order)?,
            plan,
        })
    }

    /// Ends what is left of a failed flush, and returns its error: nothing of it may stay in
    /// the database, and the session refuses work until the user rolls it back. Inside a
    /// savepoint only the savepoint is lost: rolling it back (SQLAlchemy's `begin_nested` on
    /// error) lets the outer transaction go on. Outside one, the transaction ends now.
    fn flush_failed(
        &self,
        state: &mut SessionState,
        touched: Vec<Arc<dyn ObjHandle>>,
        err: Error,
    ) -> Error {
        let message = if state.savepoints.is_empty() {
            if let Some(mut conn) = state.conn.take() {
                if conn.rollback_transaction().is_err() {
                    conn.invalidate();
                }
            }
            format!(
                "this session's transaction was rolled back after a failed flush ({err}); call \
                 rollback() before using the session again"
            )
        } else {
            format!(
                "a flush inside a savepoint failed ({err}); roll back the savepoint (or call \
                 rollback()) before using the session again"
            )
        };
        state.touched = touched;
        state.pending_rollback = Some(message);
        err
    }

    /// Emits the statements of a flush: INSERTs (each batch after the foreign keys it needs
    /// are copied in), UPDATEs (with the foreign keys of persistent children), association
    /// rows, then DELETEs. Object states change only once all of them succeed.
    fn run_flush(
        &self,
        state: &mut SessionState,
        schedule: &Schedule,
        changes: &mut Vec<Update>,
        seen: &mut [Seen],
    ) -> Result<Vec<Inserted>> {
        // Ask the connection, not the engine: what the server can do (MariaDB's RETURNING)
        // is known only once a connection has been made.
        let caps = self.connection(state)?.dialect().capabilities();
        let new = std::mem::take(&mut state.new);
        let mut inserted = Vec::with_capacity(new.len());
        // Every foreign key value the flush overwrote, to put back if it fails.
        let mut undo: Vec<(Arc<dyn ObjHandle>, usize, Value)> = Vec::new();
        let result = (|| {
            let mut before_insert: FastMap<usize, Vec<&Sync>> = FastMap::default();
            let mut after_insert: Vec<&Sync> = Vec::new();
            for sync in schedule.plan.syncs.iter().filter(|s| s.applies()) {
                if sync.dependent.meta().state == ObjectState::Pending {
                    before_insert
                        .entry(sync.dependent.addr())
                        .or_default()
                        .push(sync);
                } else {
                    after_insert.push(sync);
                }
            }
            for batch in &schedule.inserts {
                for obj in batch {
                    for sync in before_insert.get(&obj.addr()).into_iter().flatten() {
                        sync.apply(&mut undo)?;
                    }
                }
                let objs: Vec<&Arc<dyn ObjHandle>> = batch.iter().collect();
                if let Some(first) = objs.first() {
                    self.insert_objects(state, first.mapper(), &objs, &caps, &mut inserted)?;
                }
            }
            // Children already in the database take their parents' keys now that every parent
            // has one, and are written with the other changes.
            let mut synced: Vec<(Arc<dyn ObjHandle>, Vec<Value>)> = Vec::new();
            let mut synced_at: FastSet<usize> = FastSet::default();
            for sync in after_insert {
                if synced_at.insert(sync.dependent.addr()) {
                    synced.push((Arc::clone(&sync.dependent), sync.dependent.values()?));
                }
                sync.apply(&mut undo)?;
            }
            merge_synced(changes, seen, synced)?;
            for update in changes.iter() {
                self.update_object(state, update)?;
            }
            self.write_links(state, &schedule.plan, &caps)?;
            for batch in &schedule.deletes {
                let objs: Vec<&Arc<dyn ObjHandle>> = batch.iter().collect();
                if let Some(first) = objs.first() {
                    self.delete_objects(state, first.mapper(), &objs, &caps)?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                // A rollback puts back the foreign keys of objects whose INSERT it undoes.
                let at: FastMap<usize, usize> = inserted
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.obj.addr(), i))
                    .collect();
                for (obj, column, value) in undo {
                    if let Some(&i) = at.get(&obj.addr()) {
                        inserted[i].synced.push((column, value));
                    }
                }
                Ok(inserted)
            }
            Err(err) => {
                // The rows of INSERTs that did succeed are rolled back with the flush: the
                // keys and defaults they gave their objects must go too, so the objects are
                // as they were added (the generated columns were NULL, or they would have
                // been sent), and so must the foreign keys copied into them.
                for entry in &inserted {
                    for &g in entry.generated.iter() {
                        let _ = entry.obj.set_value(g, Value::Null);
                    }
                    entry.obj.meta().expired = false;
                }
                for (obj, column, value) in undo.into_iter().rev() {
                    let _ = obj.set_value(column, value);
                }
                state.new = new;
                Err(err)
            }
        }
    }

    /// Writes the association rows of many-to-many changes: removed links, then every row of
    /// deleted objects, then new links (their ends are all inserted by now).
    fn write_links(
        &self,
        state: &mut SessionState,
        plan: &Plan,
        caps: &retort_core::dialect::Capabilities,
    ) -> Result<()> {
        for group in plan.removed_rows()? {
            let table = group.table.name().to_owned();
            for (stmt, expected) in
                uow::association_deletes(&group.table, &group.columns, group.rows, caps)
            {
                let matched = self.execute(state, &stmt)?.rowcount();
                if matched != expected as u64 {
                    return Err(Error::StaleData(format!(
                        "DELETE of {expected} row(s) of the association table {table} matched \
                         {matched} (the rows were changed by another transaction)"
                    )));
                }
            }
        }
        for group in plan.unlinked_keys()? {
            for stmt in uow::association_unlinks(&group.table, &group.columns, group.rows, caps) {
                self.execute(state, &stmt)?;
            }
        }
        for group in plan.added_rows()? {
            for stmt in uow::association_inserts(&group.table, &group.columns, group.rows, caps) {
                self.execute(state, &stmt)?;
            }
        }
        Ok(())
    }

    pub(super) fn insert_objects(
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
        let writes: Vec<u32> = objs.iter().map(|o| o.meta().writes).collect();
        // Consecutive objects that send the same columns share a statement. What an object
        // sends depends only on which of its columns are NULL, read here without copying a
        // value; reading every object first also refuses one borrowed for writing before
        // anything is sent.
        let mut groups: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        for (n, obj) in objs.iter().enumerate() {
            obj.with_params(&mut |params| {
                let null = |i: usize| params[i].is_null();
                match groups.last_mut() {
                    Some((_, end, sent)) if uow::sends_same(mapper, null, sent) => *end = n + 1,
                    _ => groups.push((n, n + 1, uow::insert_columns(mapper, null))),
                }
                Ok(())
            })?;
        }
        for (start, end, sent) in groups {
            let group = &objs[start..end];
            let generated: Arc<[usize]> = uow::generated_columns(mapper, &sent).into();
            if self.keyed_by_insert_id(state, mapper, &generated)? {
                // One prepared INSERT per object, bound from its fields under its read lock.
                let statement = uow::insert_one(mapper, &sent);
                let outcomes = self.connection(state)?.run_prepared(&statement, |insert| {
                    let mut outcomes = Vec::with_capacity(group.len());
                    // A listener must be free to touch the object (a write guard), so when
                    // there is one the parameters are copied, as they would be for it anyway,
                    // and the lock released before the statement runs.
                    let observed = insert.observed();
                    for obj in group {
                        let mut copied: Option<Vec<Value>> = None;
                        // Written from another thread since it was grouped, it still sends
                        // the group's columns; its changed write count makes the next flush
                        // write every column (see `finish_flush`).
                        obj.with_params(&mut |params| {
                            let params = uow::insert_params(mapper, &sent, params);
                            if observed {
                                copied = Some(params.iter().map(ParamRef::to_value).collect());
                            } else {
                                outcomes.push(insert.run(params)?);
                            }
                            Ok(())
                        })?;
                        if let Some(params) = copied {
                            outcomes.push(insert.run_values(&params)?);
                        }
                    }
                    Ok(outcomes)
                })?;
                let key = mapper.primary_key()[0];
                for ((obj, &writes), outcome) in group.iter().zip(&writes[start..end]).zip(outcomes)
                {
                    // Recorded first, so that a failure below still puts the key back to
                    // NULL when the flush is undone.
                    inserted.push(Inserted {
                        obj: Arc::clone(obj),
                        generated: Arc::clone(&generated),
                        synced: Vec::new(),
                        writes,
                    });
                    let Some(id) = outcome.last_insert_id else {
                        return Err(Error::InvalidRequest(format!(
                            "an INSERT of a {} row inserted nothing",
                            mapper.model_name()
                        )));
                    };
                    obj.set_value(key, Value::Int(id))?;
                }
                continue;
            }
            let rows = group
                .iter()
                .map(|obj| obj.values())
                .collect::<Result<Vec<_>>>()?;
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
                        generated: Arc::clone(&generated),
                        synced: Vec::new(),
                        writes,
                    });
                }
                offset += batch.rows;
            }
        }
        Ok(())
    }

    /// Whether the objects of `mapper` whose INSERT leaves the columns `generated` to the
    /// database can be inserted one at a time by one prepared statement, each taking its key
    /// from the key the database reports for it, rather than by a multi-row INSERT ...
    /// RETURNING: when the key is all the database generates, and the table's key column is
    /// the one whose value that report is (SQLite's rowid alias, where RETURNING costs more
    /// than the row). The engine keeps the answer per table and schema version.
    fn keyed_by_insert_id(
        &self,
        state: &mut SessionState,
        mapper: &Mapper,
        generated: &[usize],
    ) -> Result<bool> {
        let [key] = mapper.primary_key() else {
            return Ok(false);
        };
        if generated != [*key] {
            return Ok(false);
        }
        let column = self
            .connection(state)?
            .insert_id_column(mapper.table_name())?;
        Ok(column.as_deref() == Some(mapper.columns()[*key].name))
    }

    pub(super) fn update_object(&self, state: &mut SessionState, update: &Update) -> Result<()> {
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

    pub(super) fn delete_objects(
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

    pub(super) fn finish_flush(
        &self,
        state: &mut SessionState,
        inserted: Vec<Inserted>,
        seen: Vec<Seen>,
    ) {
        for group in inserted.chunk_by(|a, b| a.obj.model_type() == b.obj.model_type()) {
            state
                .identity
                .reserve(group[0].obj.model_type(), group.len());
        }
        for entry in &inserted {
            let key = entry.obj.key();
            let mut meta = entry.obj.meta();
            meta.state = ObjectState::Persistent;
            if meta.writes == entry.writes {
                meta.committed = None;
                meta.touched = false;
            } else {
                // Written while its INSERT was on the way: the values sent are not known any
                // more, so the next flush compares with a row of NULLs (but the key and the
                // version the row was inserted with), and writes every column it has.
                meta.committed = Some(
                    insert_baseline(entry.obj.mapper(), entry.obj.key_values().ok())
                        .into_boxed_slice(),
                );
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
}

/// A change to flush for one persistent object.
pub(super) struct Update {
    obj: Arc<dyn ObjHandle>,
    key: Vec<Value>,
    changed: Vec<(usize, Value)>,
    version: Option<(Value, Value)>,
}

/// A touched object as a flush found it: its write count before the flush read it, and for a
/// persistent object the values the flush wrote (the snapshot for a later change).
pub(super) struct Seen {
    obj: Arc<dyn ObjHandle>,
    writes: u32,
    flushed: Option<Vec<Value>>,
}

/// Fails, naming the model, if any of `objs` is borrowed for writing.
pub(super) fn check_readable<'a>(
    mut objs: impl Iterator<Item = &'a Arc<dyn ObjHandle>>,
) -> Result<()> {
    objs.try_for_each(|obj| obj.check_readable().map_err(refused))
}

/// The error of a flush refused before it sent anything.
fn refused(err: Error) -> Error {
    Error::InvalidRequest(format!(
        "cannot flush: {err}. Nothing was sent, and the session's changes stay pending for the \
         next flush",
    ))
}

/// The changed columns of each touched persistent object, compared with its snapshot, and
/// what the flush saw of every touched object.
pub(super) fn collect_updates(touched: &[Arc<dyn ObjHandle>]) -> Result<(Vec<Update>, Vec<Seen>)> {
    let mut updates = Vec::new();
    let mut seen = Vec::with_capacity(touched.len());
    let mut addrs = FastSet::default();
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
        let (update, flushed) = diff(obj, &committed, obj.values()?);
        updates.extend(update);
        seen.push(Seen {
            obj: Arc::clone(obj),
            writes,
            flushed: Some(flushed),
        });
    }
    Ok((updates, seen))
}

/// The UPDATE that brings the row from `committed` to `current` (none if they are equal),
/// and the values the row holds after it (the version counter bumped).
fn diff(
    obj: &Arc<dyn ObjHandle>,
    committed: &[Value],
    current: Vec<Value>,
) -> (Option<Update>, Vec<Value>) {
    let mapper = obj.mapper();
    let changed: Vec<(usize, Value)> = current
        .iter()
        .zip(committed)
        .enumerate()
        .filter(|(_, (now, before))| now != before)
        .map(|(i, (now, _))| (i, now.clone()))
        .collect();
    if changed.is_empty() {
        return (None, current);
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
    let update = Update {
        obj: Arc::clone(obj),
        key,
        changed,
        version,
    };
    (Some(update), flushed)
}

/// Adds the foreign keys the flush wrote into persistent objects to their UPDATEs: each
/// `synced` object, with its values before, is compared again with its row (its snapshot if
/// it was written, else those values).
fn merge_synced(
    changes: &mut Vec<Update>,
    seen: &mut [Seen],
    synced: Vec<(Arc<dyn ObjHandle>, Vec<Value>)>,
) -> Result<()> {
    if synced.is_empty() {
        return Ok(());
    }
    let mut update_at: FastMap<usize, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, u)| (u.obj.addr(), i))
        .collect();
    let seen_at: FastMap<usize, usize> = seen
        .iter()
        .enumerate()
        .map(|(i, s)| (s.obj.addr(), i))
        .collect();
    let mut unchanged = FastSet::default();
    for (obj, before) in synced {
        let committed = obj
            .meta()
            .committed
            .clone()
            .unwrap_or_else(|| before.into());
        let (update, flushed) = diff(&obj, &committed, obj.values()?);
        let addr = obj.addr();
        match (update_at.get(&addr), update) {
            (Some(&i), Some(update)) => changes[i] = update,
            // The foreign key was put back to what the row holds: the UPDATE found before
            // would write the overwritten value.
            (Some(_), None) => {
                unchanged.insert(addr);
            }
            (None, Some(update)) => {
                update_at.insert(addr, changes.len());
                changes.push(update);
            }
            (None, None) => {}
        }
        if let Some(entry) = seen_at.get(&addr).map(|&i| &mut seen[i]) {
            if entry.flushed.is_some() {
                entry.flushed = Some(flushed);
            }
        }
    }
    if !unchanged.is_empty() {
        changes.retain(|u| !unchanged.contains(&u.obj.addr()));
    }
    Ok(())
}

/// Fails, naming the model, if an object the relationship work reads is borrowed for
/// writing, or one it writes a foreign key into is borrowed at all.
fn plan_readable(state: &SessionState, plan: &Plan) -> Result<()> {
    check_readable(state.deleted.iter().chain(plan.objects()))?;
    plan.syncs
        .iter()
        .filter(|s| s.applies())
        .try_for_each(|s| s.dependent.check_writable().map_err(refused))
}

/// Forgets the relationship changes a flush wrote.
fn clear_relationship_changes(plan: &Plan) {
    for obj in &plan.flushed {
        let count = obj.mapper().relationship_properties().len();
        for index in 0..count {
            // An object borrowed for writing now keeps its changes for the next flush,
            // which writes them again as they stand.
            let _ = obj.relation(index, &mut |slot| slot.clear_changes());
        }
    }
}

/// Objects whose UPDATE changed their primary key move to their new identity key, so that
/// the row is still found as the same object.
pub(super) fn rekey_updated(state: &mut SessionState, changes: &[Update]) {
    for update in changes {
        let pk = update.obj.mapper().primary_key();
        if !update.changed.iter().any(|(i, _)| pk.contains(i)) {
            continue;
        }
        let old = update.obj.meta().key.take();
        if let Some(old) = old {
            state.identity.remove(&identity_key(&*update.obj, old));
        }
        if let Some(new) = update.obj.key() {
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
pub(super) fn settle_touched(state: &mut SessionState, seen: Vec<Seen>) {
    for entry in seen {
        let mut meta = entry.obj.meta();
        if meta.writes == entry.writes {
            meta.touched = false;
            meta.committed = None;
        } else if let Some(flushed) = entry.flushed {
            meta.committed = Some(flushed.into_boxed_slice());
            drop(meta);
            state.touched.push(entry.obj);
        }
        // A written object without a snapshot (a pending one) was settled by its INSERT.
    }
}

/// What a next flush compares an object written during its INSERT with: NULL everywhere but
/// the primary key and the version counter, so every column the object has is written.
pub(super) fn insert_baseline(mapper: &Mapper, key_values: Option<Vec<Value>>) -> Vec<Value> {
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
pub(super) fn assign_returned(
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
        obj.set_values(&mut batch.returning.iter().copied().zip(row))
    };
    match batch.pairing {
        uow::Pairing::ByKey => {
            let pk = mapper.primary_key().len();
            let mut by_key: FastMap<Key, Vec<Value>> =
                FastMap::with_capacity_and_hasher(rows.len(), Default::default());
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

pub(super) fn unmatched(mapper: &Mapper) -> Error {
    Error::InvalidRequest(format!(
        "an INSERT ... RETURNING of {} rows gave back a row that matches none of the objects \
         sent",
        mapper.model_name()
    ))
}
