//! Turning rows into session objects through the identity map.

use super::*;

impl SessionShared {
    /// The object for a row of `M` (all mapper columns, in order): the one already in the
    /// identity map, refreshed if it was expired, or a new persistent one.
    pub(super) fn hydrate<M: Model>(
        &self,
        state: &mut SessionState,
        values: Vec<Value>,
    ) -> Result<Obj<M>> {
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
}
