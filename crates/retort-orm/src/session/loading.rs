//! Turning rows into session objects through the identity map.

use super::*;
use crate::identity::{FastMap, FastSet};
use crate::loading as statements;
use crate::options::{self, LoadNode, Step, Strategy};
use crate::relationship::Relationship;
use crate::state::Handle;
use retort_core::engine::driver::{DriverRow, RowSink};
use retort_core::sql::ast::TableRef;

/// Hands each row of a statement to a closure.
struct EachRow<F>(F);

impl<F: FnMut(&mut dyn DriverRow) -> Result<()>> RowSink for EachRow<F> {
    fn row(&mut self, row: &mut dyn DriverRow) -> Result<()> {
        (self.0)(row)
    }
}

/// The primary key of `mapper`'s object in the columns of `row` from `offset` on, read before
/// anything else so that a row whose object the session already has is not decoded further;
/// `None` when a key column is NULL (no object: an outer join's missing side).
pub(super) fn row_key(mapper: &Mapper, row: &dyn DriverRow, offset: usize) -> Result<Option<Key>> {
    let pk = mapper.primary_key();
    if let [only] = pk {
        // Most keys are integers: made into a key without the general conversion.
        return Ok(match row.get(offset + only)? {
            Value::Int(i) => Some(Key::Int(i)),
            other => Key::from_values([&other]),
        });
    }
    let values = pk
        .iter()
        .map(|&i| row.get(offset + i))
        .collect::<Result<Vec<_>>>()?;
    Ok(Key::from_values(&values))
}

/// The error for a row of `mapper` whose primary key is NULL.
pub(super) fn null_key(mapper: &Mapper) -> Error {
    Error::InvalidRequest(format!(
        "a {} row came back with a NULL primary key",
        mapper.model_name()
    ))
}

impl SessionShared {
    /// Runs `stmt` on the session's connection, handing each row to `f` with the identity
    /// map, as the driver reads it.
    pub(super) fn for_each_row(
        &self,
        state: &mut SessionState,
        stmt: &(impl Executable + ?Sized),
        mut f: impl FnMut(&mut IdentityMap, &mut dyn DriverRow) -> Result<()>,
    ) -> Result<()> {
        let (conn, identity) = self.connection_and_identity(state)?;
        conn.execute_into(
            stmt,
            &mut EachRow(|row: &mut dyn DriverRow| f(identity, row)),
        )?;
        Ok(())
    }

    /// The object of `mapper` with primary key `key`, loaded (or refreshed, when the session
    /// has it expired) with one SELECT compiled once per mapper; `None` when no row has it.
    pub(super) fn load_by_key(
        &self,
        state: &mut SessionState,
        mapper: &'static Mapper,
        key: &[Value],
    ) -> Result<Option<Handle>> {
        let sql = self.select_by_key_sql(mapper, key)?;
        let (conn, identity) = self.connection_and_identity(state)?;
        let mut found = None;
        conn.exec_driver_sql_into(
            &sql,
            key,
            &mut EachRow(|row: &mut dyn DriverRow| {
                if found.is_none() {
                    found = Some(self.hydrate_handle(identity, mapper, row)?);
                }
                Ok(())
            }),
        )?;
        Ok(found)
    }

    /// The connection of the current transaction (see `connection`), and beside it the
    /// identity map that rows read from it go into.
    fn connection_and_identity<'s>(
        &self,
        state: &'s mut SessionState,
    ) -> Result<(&'s mut Connection, &'s mut IdentityMap)> {
        self.connection(state)?;
        let SessionState { conn, identity, .. } = state;
        let conn = conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("the session has no connection".into()))?;
        Ok((conn, identity))
    }

    /// The object for the columns of `row` from `offset` on, all of `mapper`'s in order,
    /// whose primary key is `key`: the one already in the identity map (its other columns are
    /// not even read), refreshed if it was expired, or a new persistent one.
    pub(super) fn hydrate_row(
        &self,
        identity: &mut IdentityMap,
        mapper: &'static Mapper,
        key: Key,
        row: &mut dyn DriverRow,
        offset: usize,
    ) -> Result<Handle> {
        Ok(self.hydrate_entry(identity, mapper, key, row, offset)?.0)
    }

    /// [`hydrate_row`](Self::hydrate_row), telling also whether the object is new to the
    /// identity map.
    pub(super) fn hydrate_entry(
        &self,
        identity: &mut IdentityMap,
        mapper: &'static Mapper,
        key: Key,
        row: &mut dyn DriverRow,
        offset: usize,
    ) -> Result<(Handle, bool)> {
        match identity.entry(mapper.model_type(), key) {
            Entry::Occupied(entry) => {
                let existing = Arc::clone(entry.get());
                let expired = existing.meta().expired;
                if expired {
                    let values = (0..mapper.columns().len())
                        .map(|i| row.take(offset + i))
                        .collect::<Result<Vec<_>>>()?;
                    existing.set_values(&mut values.into_iter().enumerate())?;
                    let mut meta = existing.meta();
                    meta.expired = false;
                    meta.committed = None;
                    meta.touched = false;
                }
                Ok((existing, false))
            }
            Entry::Vacant(entry) => {
                let meta = ObjMeta {
                    state: ObjectState::Persistent,
                    session: Some(self.link()),
                    committed: None,
                    expired: false,
                    touched: false,
                    writes: 0,
                    key: Some(entry.key().clone()),
                };
                let obj = mapper.new_object(row, offset, meta)?;
                entry.insert(Arc::clone(&obj));
                Ok((obj, true))
            }
        }
    }

    /// [`hydrate_row`](Self::hydrate_row) for a whole row of `mapper`'s columns, whose key
    /// must not be NULL.
    pub(super) fn hydrate_handle(
        &self,
        identity: &mut IdentityMap,
        mapper: &'static Mapper,
        row: &mut dyn DriverRow,
    ) -> Result<Handle> {
        let key = row_key(mapper, row, 0)?.ok_or_else(|| null_key(mapper))?;
        self.hydrate_row(identity, mapper, key, row, 0)
    }

    /// The related objects of each of `owners` through `rel`, in the owners' order: for a
    /// many-to-one whose object is in the identity map, without SQL; else with one SELECT per
    /// chunk of owners (`IN (...)` of their keys, within the database's parameter limit), into
    /// which the joined loads of `below` are added (and after which its other loads run).
    pub(super) fn load_related(
        &self,
        state: &mut SessionState,
        rel: &'static Relationship,
        owners: &[Arc<dyn ObjHandle>],
        below: &[LoadNode],
    ) -> Result<Vec<Vec<Arc<dyn ObjHandle>>>> {
        let mut found: Vec<Vec<Arc<dyn ObjHandle>>> = vec![Vec::new(); owners.len()];
        // Each owner's join key, and the owners still to load.
        let mut wanted: Vec<(usize, Vec<Value>)> = Vec::with_capacity(owners.len());
        let columns = statements::owner_columns(rel);
        for (at, owner) in owners.iter().enumerate() {
            let Some(values) = statements::owner_key(owner_values(owner, rel, &columns)?) else {
                continue;
            };
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
            wanted.push((at, values));
        }
        if wanted.is_empty() {
            return Ok(found);
        }
        self.autoflush(state)?;
        let max_params = self.connection(state)?.dialect().capabilities().max_params;
        for chunk in wanted.chunks(statements::keys_per_statement(rel, max_params)) {
            let keys: Vec<Vec<Value>> = chunk.iter().map(|(_, k)| k.clone()).collect();
            let core = statements::related_rows(rel, &keys);
            let rows = self.run_loading(state, core, rel.target, None, below, false)?;
            let mut by_key: FastMap<Key, Vec<Handle>> = HashMap::default();
            for (obj, owner_key) in rows {
                if let Some(key) = owner_key {
                    // A joined collection below repeats the row: keep each object once.
                    let list = by_key.entry(key).or_default();
                    if !list.iter().any(|o| o.addr() == obj.addr()) {
                        list.push(obj);
                    }
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

    /// Runs `core` — a query of `mapper`'s columns (qualified by `owner`, else its table),
    /// then any extra columns — with the loads of `nodes`: joined ones in the statement,
    /// the others after it. Returns each row's object (once each with `unique`) and the key
    /// its extra columns make, if any (a selectin load's owner key).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_loading(
        &self,
        state: &mut SessionState,
        mut core: SelectCore,
        mapper: &'static Mapper,
        owner: Option<TableRef>,
        nodes: &[LoadNode],
        unique: bool,
    ) -> Result<Vec<(Handle, Option<Key>)>> {
        let mut plan = Vec::new();
        let owner = owner.unwrap_or_else(|| TableRef::new(mapper.table_name()));
        statements::add_joined(&mut core, &owner, nodes, None, &mut plan);
        let width = mapper.columns().len();
        let mut objs: Vec<(Arc<dyn ObjHandle>, Option<Key>)> = Vec::new();
        let mut seen = AddrSet::default();
        // Per joined load: each owner (by address) with its related objects, in row order.
        let mut related: Vec<Vec<(Handle, Vec<Handle>)>> = vec![Vec::new(); plan.len()];
        let mut owner_at: Vec<FastMap<usize, usize>> = vec![HashMap::default(); plan.len()];
        // Joined rows repeat their parents: the previous row's object of each entry, by key.
        let mut last_base: Option<Repeated> = None;
        let mut last: Vec<Option<Repeated>> = vec![None; plan.len()];
        let mut in_row: Vec<Option<Handle>> = Vec::with_capacity(plan.len());
        let stmt = Statement::Query(CoreQuery::Select(Box::new(core)));
        self.for_each_row(state, &stmt, |identity, row| {
            let key = row_key(mapper, row, 0)?.ok_or_else(|| null_key(mapper))?;
            let obj = self.hydrate_repeated(identity, mapper, key, row, 0, &mut last_base)?;
            in_row.clear();
            for (j, load) in plan.iter().enumerate() {
                let parent = match load.parent {
                    None => Some(Arc::clone(&obj)),
                    Some(p) => in_row[p].clone(),
                };
                let Some(parent) = parent else {
                    in_row.push(None);
                    continue;
                };
                let target = load.rel.target;
                let child = match row_key(target, row, load.offset)? {
                    Some(key) => Some(self.hydrate_repeated(
                        identity,
                        target,
                        key,
                        row,
                        load.offset,
                        &mut last[j],
                    )?),
                    None => None,
                };
                let at = *owner_at[j].entry(parent.addr()).or_insert_with(|| {
                    related[j].push((Arc::clone(&parent), Vec::new()));
                    related[j].len() - 1
                });
                if let Some(child) = &child {
                    let list = &mut related[j][at].1;
                    let repeated = list.last().is_some_and(|c| c.addr() == child.addr());
                    if !repeated && !list.iter().any(|c| c.addr() == child.addr()) {
                        list.push(Arc::clone(child));
                    }
                }
                in_row.push(child);
            }
            if !unique || seen.insert(obj.addr()) {
                // The columns between the object's and the first joined load's: the keys a
                // selectin load matches its rows to their owners by.
                let tail_end = plan.first().map_or(row.column_count(), |l| l.offset);
                let owner_key = match tail_end.saturating_sub(width) {
                    0 => None,
                    1 => Key::from_values([&row.take(width)?]),
                    _ => Key::from_values(
                        &(width..tail_end)
                            .map(|i| row.take(i))
                            .collect::<Result<Vec<_>>>()?,
                    ),
                };
                objs.push((obj, owner_key));
            }
            Ok(())
        })?;
        for (load, owners) in plan.iter().zip(&related) {
            for (parent, children) in owners {
                fill_unloaded(parent, load.rel, children)?;
            }
        }
        // Loads that are not joins run for the objects each level reached.
        let base: Vec<Arc<dyn ObjHandle>> = distinct(objs.iter().map(|(o, _)| o));
        self.load_below(state, &base, nodes)?;
        for (load, owners) in plan.iter().zip(&related) {
            let reached = distinct(owners.iter().flat_map(|(_, children)| children));
            self.load_below(state, &reached, &load.node.children)?;
        }
        Ok(objs)
    }

    /// [`hydrate_row`](Self::hydrate_row), reusing the previous row's object when the key
    /// is the same (a joined query repeats a parent over its children's rows).
    fn hydrate_repeated(
        &self,
        identity: &mut IdentityMap,
        mapper: &'static Mapper,
        key: Key,
        row: &mut dyn DriverRow,
        offset: usize,
        last: &mut Option<Repeated>,
    ) -> Result<Handle> {
        if let Some((last_key, obj)) = last.as_ref() {
            if *last_key == key {
                return Ok(Arc::clone(obj));
            }
        }
        let obj = self.hydrate_row(identity, mapper, key.clone(), row, offset)?;
        *last = Some((key, Arc::clone(&obj)));
        Ok(obj)
    }

    /// Applies the loads of `nodes` that are not joins to `objs`: selectin runs its SELECTs,
    /// the others set the loader each object keeps for later access.
    pub(super) fn load_below(
        &self,
        state: &mut SessionState,
        objs: &[Arc<dyn ObjHandle>],
        nodes: &[LoadNode],
    ) -> Result<()> {
        if objs.is_empty() {
            return Ok(());
        }
        for node in nodes {
            let index = node.rel.index;
            if let Some(lazy) = node.strategy.deferred() {
                for obj in objs {
                    obj.relation(index, &mut |slot| slot.set_strategy(lazy))?;
                }
                continue;
            }
            if node.strategy != Strategy::SelectIn {
                continue;
            }
            let mut unloaded = Vec::with_capacity(objs.len());
            for obj in objs {
                let mut loaded = false;
                obj.relation(index, &mut |slot| loaded = slot.is_loaded())?;
                if !loaded {
                    unloaded.push(Arc::clone(obj));
                }
            }
            let found = self.load_related(state, node.rel, &unloaded, &node.children)?;
            for (obj, children) in unloaded.iter().zip(&found) {
                obj.relation(index, &mut |slot| {
                    // Checked above; a failure here means the object is write-borrowed,
                    // and then the next access loads it.
                    let _ = slot.set_loaded(children);
                })?;
            }
        }
        Ok(())
    }

    /// Runs a query of `M` with its loader options (and the eager loaders its relationships
    /// declare). A joined collection under a LIMIT or OFFSET makes the query a subquery, so
    /// the limit counts objects, not rows; joined rows are folded into one object each.
    pub(crate) fn run_select<M: Model>(
        &self,
        core: SelectCore,
        chains: &[Vec<Step>],
        unique: bool,
    ) -> Result<Vec<Obj<M>>> {
        let mapper = M::mapper();
        let nodes = options::plan(mapper, chains)?;
        if nodes.is_empty() {
            let stmt = Statement::Query(CoreQuery::Select(Box::new(core)));
            return self.run_query::<M>(&stmt, unique);
        }
        let joins_collection = joins_collection(&nodes);
        let (core, owner) = if joins_collection && (core.limit.is_some() || core.offset.is_some()) {
            let (outer, alias) = statements::wrap_limited(core, mapper);
            (outer, Some(alias))
        } else {
            (core, None)
        };
        let unique = unique || nodes.iter().any(|n| n.strategy.is_joined());
        let mut state = self.lock();
        self.autoflush(&mut state)?;
        self.run_loading(&mut state, core, mapper, owner, &nodes, unique)?
            .into_iter()
            .map(|(obj, _)| {
                Obj::from_handle(obj).ok_or_else(|| {
                    Error::InvalidRequest("identity map entry has another type".into())
                })
            })
            .collect()
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
        let mapper = M::mapper();
        let mut objs = Vec::new();
        let mut seen = AddrSet::default();
        self.for_each_row(&mut state, stmt, |identity, row| {
            let handle = self.hydrate_handle(identity, mapper, row)?;
            if !unique || seen.insert(handle.addr()) {
                objs.push(Obj::from_handle(handle).ok_or_else(|| {
                    Error::InvalidRequest("identity map entry has another type".into())
                })?);
            }
            Ok(())
        })?;
        Ok(objs)
    }
}

/// Objects seen already, by address (a fast hash: addresses are not chosen by anyone).
type AddrSet = FastSet<usize>;

/// A row's object and its key, kept to recognise the next row's repeat of it.
type Repeated = (Key, Handle);

/// Fills `rel` of `parent` with `children`, unless it is loaded already (an eager load does
/// not overwrite what the object holds, which may have unflushed changes).
fn fill_unloaded(
    parent: &Arc<dyn ObjHandle>,
    rel: &Relationship,
    children: &[Arc<dyn ObjHandle>],
) -> Result<()> {
    let mut result = Ok(());
    parent.relation(rel.index, &mut |slot| {
        if !slot.is_loaded() {
            result = slot.set_loaded(children);
        }
    })?;
    result
}

/// The objects of `objs`, each once, in first-seen order.
fn distinct<'a>(objs: impl Iterator<Item = &'a Arc<dyn ObjHandle>>) -> Vec<Arc<dyn ObjHandle>> {
    let mut seen = AddrSet::with_capacity_and_hasher(objs.size_hint().0, Default::default());
    objs.filter(|o| seen.insert(o.addr()))
        .map(Arc::clone)
        .collect()
}

/// Whether any joined load among `nodes` (at any depth under joins) is of a collection, which
/// repeats the parent's row.
fn joins_collection(nodes: &[LoadNode]) -> bool {
    nodes
        .iter()
        .filter(|n| n.strategy.is_joined())
        .any(|n| n.rel.collection || joins_collection(&n.children))
}

/// The owner's column values for loading `rel`; an owner under a write guard cannot be read
/// (and, being written, could not be flushed before the load either).
fn owner_values(
    owner: &Arc<dyn ObjHandle>,
    rel: &Relationship,
    columns: &[usize],
) -> Result<Vec<Value>> {
    owner.values_at(columns).map_err(|borrowed| {
        Error::InvalidRequest(format!(
            "cannot load {} while the {} object is borrowed for writing ({borrowed}); read \
             the relationship through a read guard",
            rel.describe(),
            owner.model_name()
        ))
    })
}
