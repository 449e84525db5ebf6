//! Ending transactions and savepoints, and what commit and rollback do to the objects.

use super::*;

impl SessionShared {
    /// The objects' side of a commit: deleted ones leave the session, inserted ones stay
    /// persistent, and with `expire` every object reloads on next access.
    pub(super) fn finish_commit(&self, state: &mut SessionState, expire: bool) {
        state.inserted.clear();
        for obj in state.removed.drain(..) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Detached;
            meta.session = None;
            meta.key = None;
        }
        if expire {
            for obj in state.identity.values() {
                let mut meta = obj.meta();
                // An object written after the flush read it keeps that change for the next
                // flush; expiring it would throw the change away.
                if !meta.touched {
                    meta.expired = true;
                    drop(meta);
                    obj.expire_relations();
                }
            }
        }
    }

    /// Ends the transaction (committing or rolling back) and returns the connection.
    pub(super) fn end_transaction(&self, state: &mut SessionState, commit: bool) -> Result<()> {
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
    pub(super) fn restore_after_rollback(
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
            for &g in entry.generated.iter() {
                let _ = entry.obj.set_value(g, Value::Null);
            }
            // And so must the parents' keys copied into it.
            for (column, value) in entry.synced.iter().rev() {
                let _ = entry.obj.set_value(*column, value.clone());
            }
            let mut meta = entry.obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
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
            expire(obj);
        }
        state.touched.clear();
    }
}

/// A savepoint begun by [`Session::begin_nested`]; rolled back if dropped uncommitted.
pub struct NestedTransaction<'s> {
    pub(super) session: &'s Session,
    pub(super) id: u64,
    pub(super) done: bool,
}

impl NestedTransaction<'_> {
    /// Flushes and releases the savepoint, keeping its changes in the outer transaction.
    /// A savepoint whose work never needed the database was never opened: nothing is sent.
    ///
    /// If the flush fails, the savepoint is rolled back (as when it is dropped) and the
    /// error returned; the outer transaction stays usable.
    pub fn commit(mut self) -> Result<()> {
        let shared = &self.session.shared;
        let mut state = shared.lock();
        if state.lent {
            // Refused with nothing changed: the savepoint stays open, its work part of the
            // outer transaction, as if released.
            self.done = true;
            return Err(stream::lent_error());
        }
        // On error `self` is dropped after the lock is released, and its Drop rolls back.
        shared.flush_locked(&mut state)?;
        self.done = true;
        match pop_savepoint(&mut state, self.id).and_then(|sp| sp.name) {
            // The savepoints around it were opened before it, so this opens nothing more.
            Some(name) => shared.connection(&mut state)?.release_savepoint(&name),
            None => Ok(()),
        }
    }

    /// Rolls back to the savepoint: objects inserted or added after it become transient, and
    /// every object is expired. A savepoint that was never opened sends nothing.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.rollback_inner()
    }

    pub(super) fn rollback_inner(&self) -> Result<()> {
        let shared = &self.session.shared;
        let mut state = shared.lock();
        let Some(sp) = pop_savepoint(&mut state, self.id) else {
            return Ok(());
        };
        if sp.name.is_some() && state.lent {
            // The database cannot be told now, and the savepoint's work must not outlive it:
            // only rolling back the whole transaction is left.
            state.pending_rollback = Some(
                "a savepoint was rolled back while a Session::stream had the connection; call \
                 rollback() before using the session again"
                    .into(),
            );
            return Err(stream::lent_error());
        }
        let pending_rollback = state.pending_rollback.take();
        let result = match (&sp.name, state.conn.as_mut()) {
            (Some(name), Some(conn)) => conn.rollback_to_savepoint(name),
            // The whole transaction is already gone (a failed flush rolled it back).
            (Some(_), None) => {
                state.pending_rollback = pending_rollback;
                return Ok(());
            }
            // Never opened: the database saw none of its work, only the objects go back.
            (None, _) => Ok(()),
        };
        for obj in std::mem::take(&mut state.new) {
            let mut meta = obj.meta();
            meta.state = ObjectState::Transient;
            meta.session = None;
        }
        shared.restore_after_rollback(&mut state, sp.inserted_mark, sp.removed_mark);
        result
    }
}

/// Removes the savepoint `id` and those begun inside it (ended with it), and returns it.
pub(super) fn pop_savepoint(state: &mut SessionState, id: u64) -> Option<Savepoint> {
    let pos = state.savepoints.iter().position(|s| s.id == id)?;
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
