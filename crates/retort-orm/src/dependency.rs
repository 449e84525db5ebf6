//! Dependency processors: what a flush does for relationships (SQLAlchemy's
//! `orm/dependency.py`).
//!
//! Before anything is sent, the flush asks this module
//! - which transient objects the save-update cascade makes pending ([`cascade_save`]);
//! - what each changed relationship means in rows ([`Plan::record`]): a foreign key to copy
//!   from a parent into a child ([`Sync`]), or to clear; an association row to insert or
//!   delete ([`Link`]); a child left without its parent, set to NULL or (delete-orphan)
//!   deleted;
//! - what deleting objects does to the objects related to them ([`cascade_deletes`]);
//! - in which order the INSERTs and DELETEs go ([`insert_order`], [`delete_order`]): parents
//!   before children, a tree a level at a time, each level still one batch.
//!
//! The session runs the statements; this module only reads and plans, except for
//! [`Sync::apply`], which writes the copied key values into an object.

use std::collections::VecDeque;
use std::sync::Arc;

use retort_core::schema::Table;
use retort_core::value::Value;
use retort_core::{Error, Result};

use crate::identity::{FastMap, FastSet, Key};
use crate::mapper::Mapper;
use crate::relationship::{Direction, Relationship};
use crate::state::{Handle, ObjHandle, ObjectState};

/// What a flush reads of one relationship field: the objects added and removed since the
/// last flush, SQLAlchemy's attribute history. An object not yet in the database has no
/// rows linked to anything, so for it every related object counts as added.
fn history(obj: &dyn ObjHandle, index: usize, pending: bool) -> Result<(Vec<Handle>, Vec<Handle>)> {
    let mut found = (Vec::new(), Vec::new());
    obj.relation(index, &mut |slot| {
        if slot.is_inert() {
            return;
        }
        let (added, removed) = slot.changes();
        found = if pending {
            // A weakly held object that is gone is not in the collection any more; the
            // recorded additions are what is left to go on.
            (slot.loaded().unwrap_or(added), Vec::new())
        } else {
            (added, removed)
        };
    })?;
    Ok(found)
}

/// The loaded contents of a relationship field, `None` when not loaded.
fn loaded(obj: &dyn ObjHandle, index: usize) -> Result<Option<Vec<Handle>>> {
    let mut found = None;
    obj.relation(index, &mut |slot| found = slot.loaded())?;
    Ok(found)
}

/// The relationships of `mapper` that a flush writes (viewonly ones never are).
fn flushed(mapper: &'static Mapper) -> Result<impl Iterator<Item = &'static Relationship>> {
    let relationships: &'static [Relationship] = if mapper.relationship_properties().is_empty() {
        &[]
    } else {
        mapper.relationships()?
    };
    Ok(relationships.iter().filter(|r| !r.viewonly))
}

/// The transient objects reached from `roots` through save-update cascades, in the order
/// found: each is to become pending, and what it reaches is followed too. From a pending
/// object every related object is followed; from a persistent one, those added since the
/// last flush (the others are in the database already).
///
/// An object that cannot be read now (a live write guard) is passed over: the flush checks
/// every object it writes and reports it.
pub(crate) fn cascade_save<'a>(roots: impl IntoIterator<Item = &'a Handle>) -> Vec<Handle> {
    let mut found: Vec<Handle> = Vec::new();
    let mut seen: FastSet<usize> = FastSet::default();
    // Breadth first, so that objects are found (and later inserted) in their collections'
    // order, a level at a time.
    let mut queue: VecDeque<(Handle, bool)> = roots
        .into_iter()
        .filter(|r| !r.relations_inert())
        .map(|r| (Arc::clone(r), r.meta().state == ObjectState::Pending))
        .collect();
    while let Some((obj, whole)) = queue.pop_front() {
        let Ok(relationships) = flushed(obj.mapper()) else {
            continue;
        };
        for rel in relationships.filter(|r| r.cascade.save_update) {
            let Ok((added, _)) = history(&*obj, rel.index, whole) else {
                continue;
            };
            for item in added {
                if item.meta().state == ObjectState::Transient && seen.insert(item.addr()) {
                    found.push(Arc::clone(&item));
                    queue.push_back((item, true));
                }
            }
        }
    }
    found
}

/// A pending object being deleted, and the pending objects its delete cascades reach
/// (loaded relationships only: nothing pending is in the database to load).
pub(crate) fn cascade_pending_deletes(root: &Handle) -> Vec<Handle> {
    let mut found = vec![Arc::clone(root)];
    let mut seen: FastSet<usize> = FastSet::from_iter([root.addr()]);
    let mut at = 0;
    while at < found.len() {
        let obj = Arc::clone(&found[at]);
        at += 1;
        let Ok(relationships) = flushed(obj.mapper()) else {
            continue;
        };
        for rel in relationships.filter(|r| r.cascade.delete) {
            let Ok(Some(items)) = loaded(&*obj, rel.index) else {
                continue;
            };
            for item in items {
                if item.meta().state == ObjectState::Pending && seen.insert(item.addr()) {
                    found.push(item);
                }
            }
        }
    }
    found
}

/// Copies a parent's key into a child's foreign key columns, or clears them (`source`
/// `None`): SQLAlchemy's `sync.populate` / `sync.clear`.
pub(crate) struct Sync {
    /// The object whose foreign key columns are written.
    pub dependent: Handle,
    /// The object whose key is copied; `None` writes NULL.
    pub source: Option<Handle>,
    rel: &'static Relationship,
    /// Whether the dependent is the relationship's owner (a many-to-one) rather than its
    /// target (a one-to-many).
    dependent_is_owner: bool,
}

impl Sync {
    /// `(dependent column, source column)` pairs.
    fn columns(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.rel.pairs.iter().map(move |&(owner, target)| {
            if self.dependent_is_owner {
                (owner, target)
            } else {
                (target, owner)
            }
        })
    }

    fn dependent_columns(&self) -> Vec<usize> {
        let mut columns: Vec<usize> = self.columns().map(|(d, _)| d).collect();
        columns.sort_unstable();
        columns
    }

    /// Whether the flush writes this: the dependent is going to the database and is not
    /// being deleted, and a source is in the session (a transient one has no key to give;
    /// SQLAlchemy warns and skips it likewise).
    pub fn applies(&self) -> bool {
        let dependent = self.dependent.meta().state;
        let source_known = match &self.source {
            Some(source) => !matches!(
                source.meta().state,
                ObjectState::Transient | ObjectState::Detached
            ),
            None => true,
        };
        matches!(dependent, ObjectState::Pending | ObjectState::Persistent) && source_known
    }

    /// Writes the values into the dependent, and pushes each column's value before it onto
    /// `undo` (so a failed flush, or a rollback, can put it back).
    pub fn apply(&self, undo: &mut Vec<(Handle, usize, Value)>) -> Result<()> {
        let source = match &self.source {
            Some(source) => Some(source.values()?),
            None => None,
        };
        let current = self.dependent.values()?;
        for (to, from) in self.columns() {
            let value = match &source {
                Some(values) => values[from].clone(),
                None => Value::Null,
            };
            if current[to] != value {
                undo.push((Arc::clone(&self.dependent), to, current[to].clone()));
                self.dependent.set_value(to, value)?;
            }
        }
        Ok(())
    }
}

/// A row of a many-to-many's association table: `owner` and `target` linked through `rel`.
pub(crate) struct Link {
    rel: &'static Relationship,
    owner: Handle,
    target: Handle,
}

impl Link {
    /// The association table; `None` for a relationship without one (never planned).
    fn table(&self) -> Option<&Table> {
        self.rel.secondary.as_ref().map(|s| &s.table)
    }

    /// The same row whichever side recorded it: the association columns with the object
    /// each takes its value from.
    fn identity(&self) -> (String, Vec<(Arc<str>, usize)>) {
        let mut columns = Vec::new();
        if let Some(secondary) = &self.rel.secondary {
            for (name, _) in &secondary.owner {
                columns.push((Arc::clone(name), self.owner.addr()));
            }
            for (name, _) in &secondary.target {
                columns.push((Arc::clone(name), self.target.addr()));
            }
        }
        columns.sort();
        let table = self.table().map(|t| t.key().to_owned()).unwrap_or_default();
        (table, columns)
    }

    /// Whether both ends are (or are about to be) rows: an end not in the session, or being
    /// deleted, links nothing.
    fn applies(&self) -> bool {
        let live = |o: &Handle| {
            matches!(
                o.meta().state,
                ObjectState::Pending | ObjectState::Persistent
            )
        };
        live(&self.owner) && live(&self.target)
    }

    /// Whether both ends were rows before this flush, so the row can exist.
    fn persisted(&self) -> bool {
        let persisted = |o: &Handle| {
            matches!(
                o.meta().state,
                ObjectState::Persistent | ObjectState::Deleted
            )
        };
        persisted(&self.owner) && persisted(&self.target)
    }

    /// The row's columns, in the table's column order, and their values (read now, so after
    /// the ends' INSERTs they hold the generated keys).
    fn row(&self) -> Result<(Vec<Arc<str>>, Vec<Value>)> {
        let Some(secondary) = &self.rel.secondary else {
            return Ok((Vec::new(), Vec::new()));
        };
        let owner = self.owner.values()?;
        let target = self.target.values()?;
        let mut row = Vec::with_capacity(secondary.owner.len() + secondary.target.len());
        for column in secondary.table.columns() {
            let name = column.name();
            let value = secondary
                .owner
                .iter()
                .find(|(n, _)| &**n == name)
                .map(|(_, at)| owner[*at].clone())
                .or_else(|| {
                    secondary
                        .target
                        .iter()
                        .find(|(n, _)| &**n == name)
                        .map(|(_, at)| target[*at].clone())
                });
            if let Some(value) = value {
                row.push((Arc::from(name), value));
            }
        }
        Ok(row.into_iter().unzip())
    }
}

/// The association rows of a deleted object through a many-to-many: all of them go, found
/// by the object's key, with no need to load the collection.
pub(crate) struct Unlink {
    rel: &'static Relationship,
    owner: Handle,
}

impl Unlink {
    /// Adds the owner's key, on the association columns that hold it, to `groups`.
    fn add_to(&self, groups: &mut Vec<TableRows>) -> Result<()> {
        let Some(secondary) = &self.rel.secondary else {
            return Ok(());
        };
        let values = self.owner.values()?;
        let (columns, key) = secondary
            .owner
            .iter()
            .map(|(name, at)| (Arc::clone(name), values[*at].clone()))
            .unzip();
        TableRows::add(groups, &secondary.table, columns, key);
        Ok(())
    }
}

/// Rows (or keys) of one association table on the same columns: one set of statements.
pub(crate) struct TableRows {
    /// The table.
    pub table: Table,
    /// The columns the values are for.
    pub columns: Vec<Arc<str>>,
    /// The values, one list per row.
    pub rows: Vec<Vec<Value>>,
}

impl TableRows {
    fn add(groups: &mut Vec<TableRows>, table: &Table, columns: Vec<Arc<str>>, row: Vec<Value>) {
        match groups
            .iter_mut()
            .find(|g| g.table.key() == table.key() && g.columns == columns)
        {
            Some(group) => group.rows.push(row),
            None => groups.push(TableRows {
                table: table.clone(),
                columns,
                rows: vec![row],
            }),
        }
    }

    fn of_links<'a>(links: impl Iterator<Item = &'a Link>) -> Result<Vec<TableRows>> {
        let mut groups = Vec::new();
        for link in links {
            if let Some(table) = link.table() {
                let (columns, row) = link.row()?;
                TableRows::add(&mut groups, table, columns, row);
            }
        }
        Ok(groups)
    }
}

/// A child whose parent link was removed: it gets a NULL foreign key, or with delete-orphan
/// is deleted — unless the same flush gives it another parent.
struct Unparented {
    sync: Sync,
    delete_orphan: bool,
}

/// The relationship work of one flush.
#[derive(Default)]
pub(crate) struct Plan {
    /// Foreign keys to write: NULLs first, so a child moved to a new parent ends with it.
    pub syncs: Vec<Sync>,
    /// Association rows to insert, once both ends are.
    pub link_inserts: Vec<Link>,
    /// Association rows to delete.
    pub link_deletes: Vec<Link>,
    /// Deleted objects whose association rows all go.
    pub unlinks: Vec<Unlink>,
    /// Objects whose relationship changes the flush writes (viewonly ones are dropped); their
    /// changes are forgotten once it succeeds.
    pub flushed: Vec<Handle>,
    unparented: Vec<Unparented>,
    /// Children whose own many-to-one reference changed, with the columns it writes.
    referenced: FastSet<(usize, Vec<usize>)>,
}

impl Plan {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.syncs.is_empty()
            && self.link_inserts.is_empty()
            && self.link_deletes.is_empty()
            && self.unlinks.is_empty()
    }

    /// The association rows to delete: removed links whose row can exist.
    pub fn removed_rows(&self) -> Result<Vec<TableRows>> {
        TableRows::of_links(self.link_deletes.iter().filter(|l| l.persisted()))
    }

    /// The keys of deleted objects whose association rows all go.
    pub fn unlinked_keys(&self) -> Result<Vec<TableRows>> {
        let mut groups = Vec::new();
        for unlink in &self.unlinks {
            unlink.add_to(&mut groups)?;
        }
        Ok(groups)
    }

    /// The association rows to insert: new links between objects that are (now) rows, with
    /// their keys as they are once the ends are inserted.
    pub fn added_rows(&self) -> Result<Vec<TableRows>> {
        TableRows::of_links(self.link_inserts.iter().filter(|l| l.applies()))
    }

    /// Every object the planned work reads or writes.
    pub fn objects(&self) -> impl Iterator<Item = &Handle> {
        let syncs = self
            .syncs
            .iter()
            .flat_map(|s| std::iter::once(&s.dependent).chain(s.source.as_ref()));
        let links = self
            .link_inserts
            .iter()
            .chain(&self.link_deletes)
            .flat_map(|l| [&l.owner, &l.target]);
        syncs
            .chain(links)
            .chain(self.unlinks.iter().map(|u| &u.owner))
    }

    /// Records what the relationship changes of `obj` mean in rows.
    pub fn record(&mut self, obj: &Handle) -> Result<()> {
        let current = obj.meta().state;
        let pending = current == ObjectState::Pending;
        let deleted = current == ObjectState::Deleted;
        for rel in flushed(obj.mapper())? {
            let (added, removed) = history(&**obj, rel.index, pending)?;
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            match rel.direction {
                Direction::ManyToOne if deleted => {}
                Direction::ManyToOne => {
                    let sync = |source| Sync {
                        dependent: Arc::clone(obj),
                        source,
                        rel,
                        dependent_is_owner: true,
                    };
                    // The reference as it stands: the other side may have changed it since
                    // (a collection it was removed from or added to, through back_populates).
                    let target = match loaded(&**obj, rel.index)? {
                        Some(items) => items.into_iter().next(),
                        None => added.last().cloned(),
                    };
                    let sync = match target {
                        Some(target) => sync(Some(target)),
                        None => sync(None),
                    };
                    self.referenced
                        .insert((sync.dependent.addr(), sync.dependent_columns()));
                    match sync.source {
                        Some(_) => self.syncs.push(sync),
                        None => self.unparented.push(Unparented {
                            sync,
                            delete_orphan: reverse_deletes_orphans(rel),
                        }),
                    }
                }
                Direction::OneToMany => {
                    if !deleted {
                        for child in added {
                            self.syncs.push(Sync {
                                dependent: child,
                                source: Some(Arc::clone(obj)),
                                rel,
                                dependent_is_owner: false,
                            });
                        }
                    }
                    for child in removed {
                        self.unparented.push(Unparented {
                            sync: Sync {
                                dependent: child,
                                source: None,
                                rel,
                                dependent_is_owner: false,
                            },
                            delete_orphan: rel.cascade.delete_orphan,
                        });
                    }
                }
                Direction::ManyToMany => {
                    let link = |target| Link {
                        rel,
                        owner: Arc::clone(obj),
                        target,
                    };
                    self.link_inserts.extend(added.into_iter().map(link));
                    self.link_deletes.extend(removed.into_iter().map(link));
                }
            }
        }
        self.flushed.push(Arc::clone(obj));
        Ok(())
    }

    /// Settles the children whose parent link was removed: those given another parent in
    /// this flush keep it; of the rest, delete-orphan ones are returned (to be deleted) and
    /// the others get a NULL foreign key.
    pub fn orphans(&mut self) -> Vec<Handle> {
        // A child whose own reference changed ends with what that reference says: changes
        // recorded by the collections it went through are older.
        let referenced = std::mem::take(&mut self.referenced);
        let overridden = |s: &Sync| {
            !s.dependent_is_owner
                && referenced.contains(&(s.dependent.addr(), s.dependent_columns()))
        };
        self.syncs.retain(|s| !overridden(s));
        self.unparented.retain(|u| !overridden(&u.sync));
        let parented: FastSet<(usize, Vec<usize>)> = self
            .syncs
            .iter()
            .filter(|s| s.source.is_some())
            .map(|s| (s.dependent.addr(), s.dependent_columns()))
            .collect();
        let mut orphans = Vec::new();
        for entry in std::mem::take(&mut self.unparented) {
            let sync = entry.sync;
            if parented.contains(&(sync.dependent.addr(), sync.dependent_columns())) {
                continue;
            }
            if entry.delete_orphan && sync.dependent.meta().state == ObjectState::Persistent {
                orphans.push(sync.dependent);
            } else {
                self.syncs.push(sync);
            }
        }
        orphans
    }

    /// Orders the foreign key writes (NULLs first), and drops association rows planned twice
    /// (once from each side) or both added and removed in this flush (from the two sides,
    /// which leaves the row as it was).
    pub fn finish(&mut self) {
        self.syncs.sort_by_key(|s| s.source.is_some());
        let mut inserted = FastSet::default();
        self.link_inserts.retain(|l| inserted.insert(l.identity()));
        let mut deleted = FastSet::default();
        self.link_deletes.retain(|l| deleted.insert(l.identity()));
        let both: FastSet<_> = inserted.intersection(&deleted).cloned().collect();
        if !both.is_empty() {
            self.link_inserts.retain(|l| !both.contains(&l.identity()));
            self.link_deletes.retain(|l| !both.contains(&l.identity()));
        }
    }
}

/// Whether the relationship mirroring a many-to-one deletes the orphans it leaves.
fn reverse_deletes_orphans(rel: &Relationship) -> bool {
    let Some(reverse) = rel.reverse else {
        return false;
    };
    rel.target
        .relationships()
        .ok()
        .and_then(|r| r.get(reverse))
        .is_some_and(|r| r.cascade.delete_orphan)
}

/// What [`cascade_deletes`] needs from the session.
pub(crate) trait DeleteContext {
    /// The related objects of each of `owners` through `rel`, loaded from the database.
    fn load(&mut self, rel: &'static Relationship, owners: &[Handle]) -> Result<Vec<Vec<Handle>>>;
    /// Deletes `obj` by cascade: a persistent object is marked deleted (returns true: its
    /// own cascades follow); a pending one leaves the session.
    fn delete(&mut self, obj: &Handle) -> bool;
}

/// What deleting `deleted` does to related objects, round by round (the objects each round
/// deletes are the next round's): children under a delete cascade are deleted too, other
/// children get a NULL foreign key, and association rows go. A collection not loaded is
/// loaded first (one SELECT per relationship per round) unless `passive_deletes` leaves it to
/// the database's `ON DELETE`.
pub(crate) fn cascade_deletes(
    plan: &mut Plan,
    deleted: Vec<Handle>,
    ctx: &mut dyn DeleteContext,
) -> Result<()> {
    let mut round = deleted;
    while !round.is_empty() {
        let mut next = Vec::new();
        let mut by_mapper: Vec<(&'static Mapper, Vec<Handle>)> = Vec::new();
        for obj in round {
            match by_mapper
                .iter_mut()
                .find(|(m, _)| std::ptr::eq(*m, obj.mapper()))
            {
                Some((_, objs)) => objs.push(obj),
                None => by_mapper.push((obj.mapper(), vec![obj])),
            }
        }
        for (mapper, objs) in by_mapper {
            for rel in flushed(mapper)? {
                let follow = match rel.direction {
                    Direction::OneToMany => true,
                    Direction::ManyToOne => rel.cascade.delete,
                    Direction::ManyToMany => {
                        if !rel.passive_deletes {
                            plan.unlinks.extend(objs.iter().map(|o| Unlink {
                                rel,
                                owner: Arc::clone(o),
                            }));
                        }
                        rel.cascade.delete
                    }
                };
                if !follow {
                    continue;
                }
                let mut related: Vec<Vec<Handle>> = vec![Vec::new(); objs.len()];
                let mut unloaded: Vec<(usize, Handle)> = Vec::new();
                for (at, obj) in objs.iter().enumerate() {
                    match loaded(&**obj, rel.index)? {
                        Some(items) => related[at] = items,
                        None if !rel.passive_deletes => unloaded.push((at, Arc::clone(obj))),
                        None => {}
                    }
                }
                if !unloaded.is_empty() {
                    let owners: Vec<Handle> = unloaded.iter().map(|(_, o)| Arc::clone(o)).collect();
                    for ((at, _), items) in unloaded.iter().zip(ctx.load(rel, &owners)?) {
                        related[*at] = items;
                    }
                }
                for item in related.into_iter().flatten() {
                    if rel.cascade.delete {
                        if ctx.delete(&item) {
                            next.push(item);
                        }
                    } else {
                        plan.syncs.push(Sync {
                            dependent: item,
                            source: None,
                            rel,
                            dependent_is_owner: false,
                        });
                    }
                }
            }
        }
        round = next;
    }
    Ok(())
}

/// The INSERT batches of `new` in dependency order: mapper by mapper in `mappers`' order, each
/// object after the objects it takes a key from (`syncs`). Where objects of one mapper depend
/// on each other (a tree), its objects go a level at a time, each level one batch; objects
/// keep the order they were added in.
pub(crate) fn insert_order(
    new: &[Handle],
    mappers: &[&'static Mapper],
    syncs: &[Sync],
) -> Result<Vec<Vec<Handle>>> {
    let groups: Vec<Vec<usize>> = mappers
        .iter()
        .map(|m| {
            (0..new.len())
                .filter(|&i| std::ptr::eq(new[i].mapper(), *m))
                .collect()
        })
        .collect();
    if !syncs.iter().any(|s| s.source.is_some()) {
        // Nothing takes a key from anything: one batch per mapper.
        return Ok(groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| g.into_iter().map(|i| Arc::clone(&new[i])).collect())
            .collect());
    }
    let index: FastMap<usize, usize> = new.iter().enumerate().map(|(i, o)| (o.addr(), i)).collect();
    let mut needs: Vec<Vec<usize>> = vec![Vec::new(); new.len()];
    for sync in syncs {
        let (Some(&child), Some(source)) = (index.get(&sync.dependent.addr()), &sync.source) else {
            continue;
        };
        if let Some(&parent) = index.get(&source.addr()) {
            // An object that is its own parent cannot know its key before its INSERT.
            if parent != child {
                needs[child].push(parent);
            }
        }
    }
    let mut done = vec![false; new.len()];
    let mut left = new.len();
    let mut batches = Vec::new();
    while left > 0 {
        let mut progress = false;
        for group in &groups {
            loop {
                let ready: Vec<usize> = group
                    .iter()
                    .copied()
                    .filter(|&i| !done[i] && needs[i].iter().all(|&p| done[p]))
                    .collect();
                if ready.is_empty() {
                    break;
                }
                for &i in &ready {
                    done[i] = true;
                }
                left -= ready.len();
                progress = true;
                batches.push(ready.into_iter().map(|i| Arc::clone(&new[i])).collect());
            }
        }
        if !progress {
            let mut models: Vec<&str> = (0..new.len())
                .filter(|&i| !done[i])
                .map(|i| new[i].model_name())
                .collect();
            models.dedup();
            return Err(Error::InvalidRequest(format!(
                "cannot flush: pending {} objects each need the other's key first (a cycle of \
                 relationships); flush one of them before linking the other",
                models.join(", ")
            )));
        }
    }
    Ok(batches)
}

/// The DELETE batches of `deleted`: mapper by mapper in reverse of `mappers`' order (children
/// first), and within a self-referential mapper a level at a time, each object after the
/// deleted objects that refer to it.
pub(crate) fn delete_order(
    deleted: &[Handle],
    mappers: &[&'static Mapper],
) -> Result<Vec<Vec<Handle>>> {
    let mut batches = Vec::new();
    for mapper in mappers.iter().rev() {
        let objs: Vec<&Handle> = deleted
            .iter()
            .filter(|o| std::ptr::eq(o.mapper(), *mapper))
            .collect();
        if objs.is_empty() {
            continue;
        }
        let paths = mapper.self_references();
        if paths.is_empty() || objs.len() < 2 {
            batches.push(objs.into_iter().cloned().collect());
            continue;
        }
        let values: Vec<Vec<Value>> = objs.iter().map(|o| o.values()).collect::<Result<_>>()?;
        // For each path, the object each referred key belongs to; then each object's parents
        // among the deleted ones, and how many deleted children each still has.
        let mut parents: Vec<Vec<usize>> = vec![Vec::new(); objs.len()];
        for path in &paths {
            let referred: FastMap<Key, usize> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((Key::from_values(path.iter().map(|p| &v[p.1]))?, i)))
                .collect();
            for (i, v) in values.iter().enumerate() {
                let parent = Key::from_values(path.iter().map(|p| &v[p.0]))
                    .and_then(|k| referred.get(&k).copied());
                if let Some(parent) = parent.filter(|&p| p != i) {
                    parents[i].push(parent);
                }
            }
        }
        let mut children = vec![0usize; objs.len()];
        for &p in parents.iter().flatten() {
            children[p] += 1;
        }
        let mut done = vec![false; objs.len()];
        let mut left = objs.len();
        while left > 0 {
            let ready: Vec<usize> = (0..objs.len())
                .filter(|&i| !done[i] && children[i] == 0)
                .collect();
            // Rows that refer to each other in a ring go together; the database decides.
            let level = if ready.is_empty() {
                (0..objs.len()).filter(|&i| !done[i]).collect()
            } else {
                ready
            };
            for &i in &level {
                done[i] = true;
                for &p in &parents[i] {
                    children[p] = children[p].saturating_sub(1);
                }
            }
            left -= level.len();
            batches.push(level.into_iter().map(|i| Arc::clone(objs[i])).collect());
        }
    }
    Ok(batches)
}
