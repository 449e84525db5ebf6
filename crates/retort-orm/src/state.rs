//! Session-tracked objects: [`Obj<M>`], their [`ObjectState`], and the read/write guards that
//! make dirty tracking automatic.
//!
//! An `Obj<M>` is a shared handle to one model instance. Reading takes a [`ReadGuard`]; writing
//! takes a [`WriteGuard`], and taking one is what tells the session the object may have
//! changed — so a flush only looks at objects that were written, and its cost grows with the
//! objects changed, not with the objects loaded.

use std::any::{Any, TypeId};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use retort_core::engine::driver::DriverRow;
use retort_core::value::{ParamRef, Value};
use retort_core::{Error, Result};

use crate::identity::Key;
use crate::mapper::{Mapper, Model};
use crate::related::AnySlot;
use crate::relationship::Relationship;

/// Where an object stands with respect to a session and the database, as in SQLAlchemy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectState {
    /// Not in a session and not in the database.
    Transient,
    /// Added to a session; its INSERT has not been flushed yet.
    Pending,
    /// In a session and in the database.
    Persistent,
    /// Deleted in a session; the DELETE is flushed but not yet committed, or not yet flushed.
    Deleted,
    /// Was in a session that it has left (closed, expunged, or committed after a delete).
    Detached,
}

/// What an object needs from the session it belongs to.
pub(crate) trait SessionLink: Send + Sync {
    /// The object is about to be written: remember it for the next flush.
    fn touched(&self, obj: Arc<dyn ObjHandle>);
    /// The object's attributes were expired: load them again.
    fn load(&self, obj: &Arc<dyn ObjHandle>) -> Result<()>;
    /// Loads relationship `rel` of `owner` (identity map first, else one SELECT).
    fn load_relation(
        &self,
        owner: &Arc<dyn ObjHandle>,
        rel: &'static Relationship,
    ) -> Result<Vec<Arc<dyn ObjHandle>>>;
    /// A transient object was linked to an object of this session: add it (save-update).
    fn cascade_add(&self, obj: Arc<dyn ObjHandle>);
}

/// Bookkeeping the session keeps on each object: 64 bytes, as every loaded object has one.
pub(crate) struct ObjMeta {
    /// The session the object belongs to; `None` outside one.
    pub session: Option<Weak<dyn SessionLink>>,
    /// The column values as last read from or written to the database, once a write needs
    /// them kept.
    pub committed: Option<Box<[Value]>>,
    /// The identity key, once the object is persistent.
    pub key: Option<Key>,
    /// How many times a write guard was asked for: a flush compares it before and after, to
    /// notice a write that raced with it and keep that object registered. Wraps; a flush
    /// would have to span 2^32 writes to one object to be fooled.
    pub writes: u32,
    pub state: ObjectState,
    /// The attributes must be loaded again before use.
    pub expired: bool,
    /// Written since the last flush.
    pub touched: bool,
}

impl ObjMeta {
    /// Records a write to the object: counts it and, on the first write since the last flush,
    /// takes the snapshot the next flush compares against (`values` gives it) — on the first
    /// write, so loading objects costs nothing extra. Returns whether this was that first
    /// write, which the session must be told of.
    pub(crate) fn record_write(
        &mut self,
        values: impl FnOnce() -> Result<Vec<Value>>,
    ) -> Result<bool> {
        self.writes = self.writes.wrapping_add(1);
        if self.touched {
            return Ok(false);
        }
        if self.state == ObjectState::Persistent && self.committed.is_none() {
            self.committed = Some(values()?.into_boxed_slice());
        }
        self.touched = true;
        Ok(true)
    }

    fn transient() -> Self {
        ObjMeta {
            state: ObjectState::Transient,
            session: None,
            committed: None,
            expired: false,
            touched: false,
            writes: 0,
            key: None,
        }
    }
}

pub(crate) struct ObjCell<M> {
    data: RwLock<M>,
    meta: Mutex<ObjMeta>,
}

/// The type-erased view of an object the session works with.
pub(crate) trait ObjHandle: Send + Sync {
    fn model_type(&self) -> TypeId;
    fn mapper(&self) -> &'static Mapper;
    fn model_name(&self) -> &'static str {
        self.mapper().model_name()
    }
    fn meta(&self) -> MutexGuard<'_, ObjMeta>;
    /// Every column's current value.
    fn values(&self) -> Result<Vec<Value>>;
    /// Calls `f` with every column's current value as a parameter, in column order, borrowed
    /// from the object's fields under its read lock, which is held until `f` returns: no
    /// text or bytes are copied. `f` may reorder the slice.
    fn with_params(&self, f: &mut dyn FnMut(&mut [ParamRef<'_>]) -> Result<()>) -> Result<()>;
    /// The current primary key values.
    fn key_values(&self) -> Result<Vec<Value>>;
    /// The current primary key, `None` while a component is NULL or the object is borrowed
    /// for writing. Reads an integer key without building a list of values.
    fn key(&self) -> Option<Key>;
    /// The current values of the columns at `columns`.
    fn values_at(&self, columns: &[usize]) -> Result<Vec<Value>>;
    /// Sets one column from the database.
    fn set_value(&self, index: usize, value: Value) -> Result<()>;
    /// Sets several columns from the database, all or none: when one value cannot be read
    /// into its field, the columns already set get their earlier values back.
    fn set_values(&self, values: &mut dyn Iterator<Item = (usize, Value)>) -> Result<()>;
    /// Fails, naming the model, while a write guard of the object is alive: a flush checks
    /// this before it sends anything, so it never stops halfway for a borrowed object.
    fn check_readable(&self) -> Result<()>;
    /// Fails, naming the model, while any guard of the object is alive: checked before a
    /// flush writes a parent's key into it.
    fn check_writable(&self) -> Result<()>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The object's address, to tell objects apart.
    fn addr(&self) -> usize;
    /// Calls `f` with relationship field `index`. Fails while a write guard is alive.
    fn relation(&self, index: usize, f: &mut dyn FnMut(&dyn AnySlot)) -> Result<()>;
    /// Whether every relationship field holds nothing and has no changes, so that the
    /// cascades and the flush can pass the object over. False while a write guard is alive
    /// (the fields cannot be read then).
    fn relations_inert(&self) -> bool;
    /// Forgets every loaded relationship, so it loads again on next access. An object under
    /// a write guard keeps them (it is being changed and will be flushed).
    fn expire_relations(&self);
}

/// A type-erased object, as the session holds it.
pub(crate) type Handle = Arc<dyn ObjHandle>;

/// Builds a persistent object of `M` from a row, type-erased, for loaders that know only the
/// mapper.
pub(crate) fn new_object<M: Model>(
    row: &mut dyn DriverRow,
    offset: usize,
    meta: ObjMeta,
) -> Result<Arc<dyn ObjHandle>> {
    Ok(Obj::with_meta(M::from_row(row, offset)?, meta).handle())
}

fn poisoned<T>(_: T) -> Error {
    Error::InvalidRequest("an object's lock was poisoned by a panic in another thread".into())
}

fn borrowed(model: &str, how: &str) -> Error {
    Error::InvalidRequest(format!(
        "the {model} object is already borrowed {how}; drop the other guard first"
    ))
}

impl<M: Model> ObjCell<M> {
    fn try_read(&self) -> Result<RwLockReadGuard<'_, M>> {
        self.data.try_read().map_err(|e| match e {
            std::sync::TryLockError::Poisoned(p) => poisoned(p),
            std::sync::TryLockError::WouldBlock => {
                borrowed(M::mapper().model_name(), "for writing")
            }
        })
    }

    fn try_write(&self) -> Result<RwLockWriteGuard<'_, M>> {
        self.data.try_write().map_err(|e| match e {
            std::sync::TryLockError::Poisoned(p) => poisoned(p),
            std::sync::TryLockError::WouldBlock => borrowed(M::mapper().model_name(), "elsewhere"),
        })
    }
}

impl<M: Model> ObjHandle for ObjCell<M> {
    fn model_type(&self) -> TypeId {
        TypeId::of::<M>()
    }

    fn mapper(&self) -> &'static Mapper {
        M::mapper()
    }

    fn meta(&self) -> MutexGuard<'_, ObjMeta> {
        // The metadata holds no invariant a panic could break halfway, so a poisoned lock is
        // still usable.
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn values(&self) -> Result<Vec<Value>> {
        let data = self.try_read()?;
        Ok((0..M::mapper().columns().len())
            .map(|i| data.column_value(i))
            .collect())
    }

    fn with_params(&self, f: &mut dyn FnMut(&mut [ParamRef<'_>]) -> Result<()>) -> Result<()> {
        self.try_read()?.with_column_params(f)
    }

    fn values_at(&self, columns: &[usize]) -> Result<Vec<Value>> {
        let data = self.try_read()?;
        Ok(columns.iter().map(|&i| data.column_value(i)).collect())
    }

    fn key_values(&self) -> Result<Vec<Value>> {
        let data = self.try_read()?;
        Ok(M::mapper()
            .primary_key()
            .iter()
            .map(|&i| data.column_value(i))
            .collect())
    }

    fn key(&self) -> Option<Key> {
        let data = self.try_read().ok()?;
        match M::mapper().primary_key() {
            [single] => Key::from_values([&data.column_value(*single)]),
            columns => {
                let values: Vec<Value> = columns.iter().map(|&i| data.column_value(i)).collect();
                Key::from_values(&values)
            }
        }
    }

    fn set_value(&self, index: usize, value: Value) -> Result<()> {
        self.try_write()?.set_column_value(index, value)
    }

    fn set_values(&self, values: &mut dyn Iterator<Item = (usize, Value)>) -> Result<()> {
        let mut data = self.try_write()?;
        let mut values = values.peekable();
        let mut earlier = Vec::new();
        while let Some((index, value)) = values.next() {
            // Only a value that a later one could fail after needs keeping: a lone value (the
            // key an INSERT returns) costs no copy and no allocation.
            let before = values.peek().is_some().then(|| data.column_value(index));
            if let Err(err) = data.set_column_value(index, value) {
                // A field's own value always converts back into it.
                for (index, before) in earlier.into_iter().rev() {
                    let _ = data.set_column_value(index, before);
                }
                return Err(err);
            }
            earlier.extend(before.map(|before| (index, before)));
        }
        Ok(())
    }

    fn check_readable(&self) -> Result<()> {
        self.try_read().map(drop)
    }

    fn check_writable(&self) -> Result<()> {
        self.try_write().map(drop)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn addr(&self) -> usize {
        self as *const Self as *const () as usize
    }

    fn relation(&self, index: usize, f: &mut dyn FnMut(&dyn AnySlot)) -> Result<()> {
        let data = self.try_read()?;
        if let Some(slot) = data.relationship(index) {
            f(slot.0);
        }
        Ok(())
    }

    fn relations_inert(&self) -> bool {
        let count = M::mapper().relationship_properties().len();
        if count == 0 {
            return true;
        }
        let Ok(data) = self.try_read() else {
            return false;
        };
        (0..count).all(|index| {
            data.relationship(index)
                .map_or(true, |slot| slot.0.is_inert())
        })
    }

    fn expire_relations(&self) {
        let count = M::mapper().relationship_properties().len();
        if count == 0 {
            return;
        }
        if let Ok(data) = self.try_read() {
            for index in 0..count {
                if let Some(slot) = data.relationship(index) {
                    slot.0.expire();
                }
            }
        }
    }
}

/// A model instance tracked by a session: a cheap, clonable, thread-safe handle.
///
/// Clones refer to the same object; within one session each row is one object, so two queries
/// that return the same row return handles for which [`Obj::ptr_eq`] is true.
pub struct Obj<M: Model> {
    cell: Arc<ObjCell<M>>,
}

impl<M: Model> Clone for Obj<M> {
    fn clone(&self) -> Self {
        Obj {
            cell: Arc::clone(&self.cell),
        }
    }
}

impl<M: Model + fmt::Debug> fmt::Debug for Obj<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.data.try_read() {
            Ok(data) => fmt::Debug::fmt(&*data, f),
            Err(_) => write!(f, "<{} (borrowed)>", M::mapper().model_name()),
        }
    }
}

/// A weak handle to an object: does not keep it alive.
pub(crate) struct WeakObj<M: Model> {
    cell: Weak<ObjCell<M>>,
}

impl<M: Model> Clone for WeakObj<M> {
    fn clone(&self) -> Self {
        WeakObj {
            cell: Weak::clone(&self.cell),
        }
    }
}

impl<M: Model> WeakObj<M> {
    pub(crate) fn upgrade(&self) -> Option<Obj<M>> {
        self.cell.upgrade().map(|cell| Obj { cell })
    }

    pub(crate) fn addr(&self) -> usize {
        self.cell.as_ptr() as *const () as usize
    }
}

impl<M: Model> Obj<M> {
    /// Wraps a new, transient object.
    pub fn new(model: M) -> Self {
        Self::wrap(model, ObjMeta::transient(), true)
    }

    /// Wraps `model` with the session's bookkeeping already in place; its relationships are
    /// not loaded.
    pub(crate) fn with_meta(model: M, meta: ObjMeta) -> Self {
        Self::wrap(model, meta, false)
    }

    fn wrap(model: M, meta: ObjMeta, loaded: bool) -> Self {
        let obj = Obj {
            cell: Arc::new(ObjCell {
                data: RwLock::new(model),
                meta: Mutex::new(meta),
            }),
        };
        let count = M::mapper().relationship_properties().len();
        if count > 0 {
            let owner: Weak<dyn ObjHandle> = {
                let weak: Weak<ObjCell<M>> = Arc::downgrade(&obj.cell);
                weak
            };
            // Only a new object built with related objects has anything to mirror.
            let mut holds_related = false;
            if let Ok(data) = obj.cell.data.try_read() {
                for index in 0..count {
                    if let Some(slot) = data.relationship(index) {
                        slot.0.bind(Weak::clone(&owner), index, loaded);
                        holds_related |= loaded && !slot.0.is_inert();
                    }
                }
            }
            if holds_related {
                obj.mirror_initial();
            }
        }
        obj
    }

    /// A new object built with related objects (`Many::of`, `One::to`): the other side of
    /// each `back_populates` points back at it, as if they had been linked one by one.
    fn mirror_initial(&self) {
        let Ok(relationships) = M::mapper().relationships() else {
            return;
        };
        let handle = self.handle();
        for rel in relationships.iter().filter(|r| r.back_populates) {
            let Some(reverse) = rel.reverse else {
                continue;
            };
            let mut items = None;
            let _ = handle.relation(rel.index, &mut |slot| items = slot.loaded());
            for item in items.into_iter().flatten() {
                let _ = item.relation(reverse, &mut |slot| slot.mirror_add(&handle));
            }
        }
    }

    pub(crate) fn downgrade(&self) -> WeakObj<M> {
        WeakObj {
            cell: Arc::downgrade(&self.cell),
        }
    }

    /// The object's address, to tell objects apart.
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.cell) as *const () as usize
    }

    pub(crate) fn from_handle(handle: Arc<dyn ObjHandle>) -> Option<Self> {
        handle
            .into_any()
            .downcast::<ObjCell<M>>()
            .ok()
            .map(|cell| Obj { cell })
    }

    pub(crate) fn handle(&self) -> Arc<dyn ObjHandle> {
        self.cell.clone()
    }

    pub(crate) fn meta(&self) -> MutexGuard<'_, ObjMeta> {
        self.cell.meta()
    }

    /// Whether both handles are the same object.
    pub fn ptr_eq(&self, other: &Obj<M>) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }

    /// The object's state.
    pub fn state(&self) -> ObjectState {
        self.meta().state
    }

    /// Loads expired attributes through the session, if they are expired.
    fn ensure_loaded(&self) -> Result<()> {
        let link = {
            let meta = self.meta();
            if !meta.expired {
                return Ok(());
            }
            meta.session.as_ref().and_then(Weak::upgrade)
        };
        match link {
            Some(link) => link.load(&self.handle()),
            None => Err(Error::DetachedInstance(format!(
                "the {} object's attributes were expired and it is not bound to a session, \
                 so they cannot be loaded",
                M::mapper().model_name()
            ))),
        }
    }

    /// Borrows the object for reading, loading its attributes first if they were expired.
    ///
    /// Fails with `InvalidRequest` while a [`WriteGuard`] of the same object is alive, and with
    /// `DetachedInstance` when expired attributes cannot be loaded.
    pub fn read(&self) -> Result<ReadGuard<'_, M>> {
        self.ensure_loaded()?;
        Ok(ReadGuard {
            guard: self.cell.try_read()?,
        })
    }

    /// Borrows the object for writing. The session notices the change at its next flush and
    /// UPDATEs only the columns whose values differ from the database's.
    pub fn write(&self) -> Result<WriteGuard<'_, M>> {
        self.ensure_loaded()?;
        let link = {
            let mut meta = self.meta();
            if meta.record_write(|| self.cell.values())? {
                meta.session.as_ref().and_then(Weak::upgrade)
            } else {
                None
            }
        };
        if let Some(link) = link {
            link.touched(self.handle());
        }
        Ok(WriteGuard {
            guard: self.cell.try_write()?,
        })
    }
}

/// Shared access to an object's fields.
pub struct ReadGuard<'a, M> {
    guard: RwLockReadGuard<'a, M>,
}

impl<M> Deref for ReadGuard<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.guard
    }
}

/// Exclusive access to an object's fields; changes are picked up by the next flush.
pub struct WriteGuard<'a, M> {
    guard: RwLockWriteGuard<'a, M>,
}

impl<M> Deref for WriteGuard<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.guard
    }
}

impl<M> DerefMut for WriteGuard<'_, M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_bookkeeping_of_an_object_stays_small() {
        // Every loaded object has one (with its 8-byte lock): a field more here is a field
        // more per row loaded.
        assert_eq!(size_of::<ObjMeta>(), 64);
    }
}
