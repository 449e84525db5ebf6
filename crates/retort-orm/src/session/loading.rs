//! Turning rows into session objects through the identity map.

use super::*;
use crate::loading as statements;
use crate::relationship::Relationship;

impl SessionShared {
    /// The object for a row of `M` (all mapper columns, in order): the one already in the
    /// identity map, refreshed if it was expired, or a new persistent one.
    pub(super) fn hydrate<M: Model>(
        &self,
        state: &mut SessionState,
        values: Vec<Value>,
    ) -> Result<Obj<M>> {
        let handle = self.hydrate_handle(state, M::mapper(), values)?;
        Obj::from_handle(handle)
            .ok_or_else(|| Error::InvalidRequest("identity map entry has another type".into()))
    }

    /// [`hydrate`](Self::hydrate) for a model known only by its mapper.
    pub(super) fn hydrate_handle(
        &self,
        state: &mut SessionState,
        mapper: &'static Mapper,
        values: Vec<Value>,
    ) -> Result<Arc<dyn ObjHandle>> {
        let key = Key::from_values(mapper.primary_key().iter().map(|&i| &values[i])).ok_or_else(
            || {
                Error::InvalidRequest(format!(
                    "a {} row came back with a NULL primary key",
                    mapper.model_name()
                ))
            },
        )?;
        let ikey = IdentityKey {
            model: mapper.model_type(),
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
                Ok(existing)
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
                let obj = mapper.new_object(values, meta)?;
                entry.insert(Arc::clone(&obj));
                Ok(obj)
            }
        }
    }

    /// The related objects of each of `owners` through `rel`, in the owners' order: for a
    /// many-to-one whose object is in the identity map, without SQL; else with one SELECT per
    /// chunk of owners (`IN (...)` of their keys, within the database's parameter limit).
    pub(super) fn load_related(
        &self,
        state: &mut SessionState,
        rel: &'static Relationship,
        owners: &[Arc<dyn ObjHandle>],
    ) -> Result<Vec<Vec<Arc<dyn ObjHandle>>>> {
        let mut found: Vec<Vec<Arc<dyn ObjHandle>>> = vec![Vec::new(); owners.len()];
        // Each owner's join key, and the owners still to load.
        let mut wanted: Vec<(usize, Vec<Value>)> = Vec::with_capacity(owners.len());
        for (at, owner) in owners.iter().enumerate() {
            let values = owner.values()?;
            if let Some(key) = statements::many_to_one_key(rel, &values) {
                let in_map = Key::from_values(&key).and_then(|key| {
                    let ikey = IdentityKey {
                        model: rel.target.model_type(),
                        key,
                    };
                    state.identity.get(&ikey).cloned()
                });
                if let Some(obj) = in_map {
                    let (current, expired) = {
                        let meta = obj.meta();
                        (meta.state, meta.expired)
                    };
                    if current != ObjectState::Deleted && !expired {
                        found[at].push(obj);
                        continue;
                    }
                }
            }
            if let Some(key) = statements::owner_key(rel, &values) {
                wanted.push((at, key));
            }
        }
        if wanted.is_empty() {
            return Ok(found);
        }
        self.autoflush(state)?;
        let max_params = self.connection(state)?.dialect().capabilities().max_params;
        let width = rel.target.columns().len();
        for chunk in wanted.chunks(statements::keys_per_statement(rel, max_params)) {
            let keys: Vec<Vec<Value>> = chunk.iter().map(|(_, k)| k.clone()).collect();
            let stmt = statements::related_rows(rel, &keys);
            let rows = self.execute(state, &stmt)?.into_rows();
            let mut by_key: HashMap<Key, Vec<Arc<dyn ObjHandle>>> = HashMap::new();
            for row in rows {
                let mut values = row.into_values();
                let tail = values.split_off(width.min(values.len()));
                let obj = self.hydrate_handle(state, rel.target, values)?;
                if let Some(key) = Key::from_values(&tail) {
                    by_key.entry(key).or_default().push(obj);
                }
            }
            for (at, key) in chunk {
                if let Some(objs) = Key::from_values(key).and_then(|k| by_key.get(&k)) {
                    found[*at] = objs.clone();
                }
            }
        }
        Ok(found)
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
