//! The values of relationship fields: [`Many<T>`] (a collection, for one-to-many and
//! many-to-many) and [`One<T>`] (a single reference, for many-to-one and one-to-one).
//!
//! A relationship's state lives in a cell of its own inside the field, reached through `&self`:
//! navigating and changing a relationship needs only a read guard on the parent
//! (`user.read()?.addresses.push(&address)?`), so it never dead-ends on a held write guard.
//! The cell is unloaded, loaded (with its objects), or set to raise; it also keeps what was
//! added and removed since the last flush, which the flush turns into foreign-key values and
//! association rows.
//!
//! Two objects related both ways (`user.addresses` holds the address, `address.user` the
//! user) would keep each other alive forever if both links were strong. So a link is stored
//! weakly when the other object already holds a strong link back: the pair is owned one way
//! only, and dropping the last handle frees both. A weak link whose object is gone reads as
//! not loaded (it is loaded again through the session, or is a `DetachedInstance` error).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use retort_core::{Error, Result};

use crate::mapper::Model;
use crate::relationship::{Lazy, Relationship};
use crate::state::{Handle, Obj, ObjHandle, ObjectState, WeakObj};

/// A link to a related object, held strongly or (when the other side holds a strong link
/// back) weakly.
enum Link<T: Model> {
    Strong(Obj<T>),
    Weak(WeakObj<T>),
}

impl<T: Model> Link<T> {
    fn get(&self) -> Option<Obj<T>> {
        match self {
            Link::Strong(obj) => Some(obj.clone()),
            Link::Weak(weak) => weak.upgrade(),
        }
    }

    fn addr(&self) -> usize {
        match self {
            Link::Strong(obj) => obj.addr(),
            Link::Weak(weak) => weak.addr(),
        }
    }

    fn is_strong(&self) -> bool {
        matches!(self, Link::Strong(_))
    }

    fn to(obj: &Obj<T>, strong: bool) -> Self {
        if strong {
            Link::Strong(obj.clone())
        } else {
            Link::Weak(obj.downgrade())
        }
    }
}

impl<T: Model> Clone for Link<T> {
    fn clone(&self) -> Self {
        match self {
            Link::Strong(obj) => Link::Strong(obj.clone()),
            Link::Weak(weak) => Link::Weak(weak.clone()),
        }
    }
}

/// The state of one relationship field of one object: 56 bytes, as every loaded object has
/// one per relationship.
struct Slot<T: Model> {
    /// The object the field belongs to; set when the object is wrapped in an [`Obj`].
    owner: Option<Weak<dyn ObjHandle>>,
    /// The relationship's position among the owner's.
    index: u32,
    /// A loader set on this object by a query option (`raiseload`, `noload`).
    strategy: Option<Lazy>,
    /// The related objects, once loaded (at most one for a `One`).
    loaded: Option<Vec<Link<T>>>,
    /// What changed since the last flush; allocated by the first change, as most loaded
    /// objects' relationships are never changed.
    changes: Option<Box<Pending<T>>>,
}

/// The objects added to and removed from one relationship field since the last flush.
struct Pending<T: Model> {
    added: Vec<Obj<T>>,
    removed: Vec<Obj<T>>,
}

impl<T: Model> Slot<T> {
    fn loaded_with(items: Vec<Obj<T>>) -> Self {
        let changes = (!items.is_empty()).then(|| {
            Box::new(Pending {
                added: items.clone(),
                removed: Vec::new(),
            })
        });
        Slot {
            owner: None,
            index: 0,
            strategy: None,
            loaded: Some(items.into_iter().map(Link::Strong).collect()),
            changes,
        }
    }

    /// The live objects of a loaded slot; `None` when not loaded, or when a weakly held
    /// object is gone (then it must be loaded again).
    fn live(&self) -> Option<Vec<Obj<T>>> {
        self.loaded.as_ref()?.iter().map(Link::get).collect()
    }

    fn pending(&mut self) -> &mut Pending<T> {
        self.changes.get_or_insert_with(|| {
            Box::new(Pending {
                added: Vec::new(),
                removed: Vec::new(),
            })
        })
    }

    fn record_added(&mut self, obj: &Obj<T>) {
        let addr = obj.addr();
        let pending = self.pending();
        let before = pending.removed.len();
        pending.removed.retain(|o| o.addr() != addr);
        if pending.removed.len() == before && !pending.added.iter().any(|o| o.addr() == addr) {
            pending.added.push(obj.clone());
        }
    }

    fn record_removed(&mut self, obj: &Obj<T>) {
        let addr = obj.addr();
        let pending = self.pending();
        let before = pending.added.len();
        pending.added.retain(|o| o.addr() != addr);
        if pending.added.len() == before && !pending.removed.iter().any(|o| o.addr() == addr) {
            pending.removed.push(obj.clone());
        }
    }
}

/// The objects added to and removed from a relationship field since the last flush.
pub(crate) type Changes = (Vec<Handle>, Vec<Handle>);

/// The type-erased view of a relationship field that the session and the loaders use.
pub(crate) trait AnySlot: Send + Sync {
    /// Ties the field to its object; `loaded` false marks it not loaded (a row just read).
    fn bind(&self, owner: Weak<dyn ObjHandle>, index: usize, loaded: bool);
    /// The related objects, if loaded (and none of them is gone).
    fn loaded(&self) -> Option<Vec<Arc<dyn ObjHandle>>>;
    /// Whether it is loaded (and none of its objects is gone), without collecting them.
    fn is_loaded(&self) -> bool;
    /// Replaces the contents with objects loaded from the database.
    fn set_loaded(&self, items: &[Arc<dyn ObjHandle>]) -> Result<()>;
    /// Forgets the contents: the next access loads them again.
    fn expire(&self);
    /// Makes `items` the contents, as the user would by pushing and removing (loading the
    /// current contents first): the next flush links the new ones and unlinks the others.
    fn assign(&self, items: &[Arc<dyn ObjHandle>]) -> Result<()>;
    /// Sets a loader on this object (`Raise` or `NoLoad`).
    fn set_strategy(&self, lazy: Lazy);
    /// Objects added and removed since the last flush.
    fn changes(&self) -> Changes;
    /// Whether it holds nothing and has no changes: what a flush can pass over without
    /// collecting anything (most new objects' collections).
    fn is_inert(&self) -> bool;
    /// Forgets the changes (the flush wrote them).
    fn clear_changes(&self);
    /// Whether it holds a strong link to the object at `addr`.
    fn holds_strong(&self, addr: usize) -> bool;
    /// The other side of `back_populates` was linked to `owner`: mirror it, if loaded.
    fn mirror_add(&self, owner: &Arc<dyn ObjHandle>);
    /// The other side of `back_populates` was unlinked from `owner`: mirror it, if loaded.
    fn mirror_remove(&self, owner: &Arc<dyn ObjHandle>);
}

/// A relationship field, as the derive hands it to the session. Opaque.
#[derive(Clone, Copy)]
pub struct RelationRef<'a>(pub(crate) &'a dyn AnySlot);

fn lock<T: Model>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    // A slot holds no invariant a panic could break halfway.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a slot needs from its owner to load or change: the owner, its relationship, and the
/// session link.
struct Bound {
    owner: Arc<dyn ObjHandle>,
    rel: &'static Relationship,
}

fn bound<T: Model>(slot: &Mutex<Slot<T>>) -> Result<Option<Bound>> {
    let (owner, index) = {
        let s = lock(slot);
        (s.owner.clone(), s.index as usize)
    };
    let Some(owner) = owner else {
        return Ok(None);
    };
    let Some(owner) = owner.upgrade() else {
        return Ok(None);
    };
    let rel = &owner.mapper().relationships()?[index];
    Ok(Some(Bound { owner, rel }))
}

fn downcast<T: Model>(items: &[Arc<dyn ObjHandle>]) -> Result<Vec<Obj<T>>> {
    items
        .iter()
        .map(|h| {
            Obj::from_handle(Arc::clone(h)).ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "a {} object was given where a {} was expected",
                    h.model_name(),
                    T::mapper().model_name()
                ))
            })
        })
        .collect()
}

/// Whether `obj` holds a strong link back to `owner` through `rel`'s reverse: then the link
/// from `owner` to `obj` is stored weakly, so the pair does not keep itself alive.
fn held_back(rel: &Relationship, owner_addr: usize, obj: &dyn ObjHandle) -> bool {
    let Some(reverse) = rel.reverse else {
        return false;
    };
    let mut held = false;
    let _ = obj.relation(reverse, &mut |slot| held = slot.holds_strong(owner_addr));
    held
}

/// Loads the slot's contents through the owner's session, or fails as SQLAlchemy does.
fn load<T: Model>(slot: &Mutex<Slot<T>>) -> Result<Vec<Obj<T>>> {
    let (strategy, live) = {
        let s = lock(slot);
        (s.strategy, s.live())
    };
    if let Some(items) = live {
        return Ok(items);
    }
    let Some(Bound { owner, rel }) = bound(slot)? else {
        // A field never tied to an object (a model not yet in an Obj) holds what was put in.
        return Ok(lock(slot).live().unwrap_or_default());
    };
    match strategy.unwrap_or(rel.lazy) {
        Lazy::Raise => {
            return Err(Error::InvalidRequest(format!(
                "{} is not loaded and its loader is 'raise'; load it with selectinload or \
                 joinedload",
                rel.describe()
            )))
        }
        Lazy::NoLoad => {
            lock(slot).loaded = Some(Vec::new());
            return Ok(Vec::new());
        }
        _ => {}
    }
    let (state, link) = {
        let meta = owner.meta();
        (meta.state, meta.session.as_ref().and_then(Weak::upgrade))
    };
    if state == ObjectState::Pending || state == ObjectState::Transient {
        // Nothing of a row that is not in the database yet can be there to load.
        lock(slot).loaded = Some(Vec::new());
        return Ok(Vec::new());
    }
    let Some(link) = link else {
        return Err(Error::DetachedInstance(format!(
            "{} is not loaded and the {} object is not bound to a session, so it cannot be \
             loaded",
            rel.describe(),
            rel.owner.model_name()
        )));
    };
    let handles = link.load_relation(&owner, rel)?;
    let items = downcast::<T>(&handles)?;
    store_loaded(slot, rel, owner.addr(), &items);
    Ok(items)
}

/// Puts loaded objects into the slot, each strongly unless it holds the owner strongly.
fn store_loaded<T: Model>(
    slot: &Mutex<Slot<T>>,
    rel: &Relationship,
    owner_addr: usize,
    items: &[Obj<T>],
) {
    let links: Vec<Link<T>> = items
        .iter()
        .map(|o| Link::to(o, !held_back(rel, owner_addr, &*o.handle())))
        .collect();
    lock(slot).loaded = Some(links);
}

/// Mirrors a change on the other side of `back_populates`, and tells the session.
fn after_change(
    bound: &Bound,
    added: Option<&Arc<dyn ObjHandle>>,
    removed: Option<&Arc<dyn ObjHandle>>,
) -> Result<()> {
    let Bound { owner, rel } = bound;
    if rel.back_populates {
        if let Some(reverse) = rel.reverse {
            if let Some(obj) = removed {
                obj.relation(reverse, &mut |s| s.mirror_remove(owner))?;
            }
            if let Some(obj) = added {
                obj.relation(reverse, &mut |s| s.mirror_add(owner))?;
            }
        }
    }
    let link = owner.meta().session.as_ref().and_then(Weak::upgrade);
    if let Some(link) = link {
        link.touched(Arc::clone(owner));
        if let Some(obj) = added {
            if rel.cascade.save_update && obj.meta().state == ObjectState::Transient {
                link.cascade_add(Arc::clone(obj));
            }
        }
    }
    Ok(())
}

/// A collection of related objects: the value of a one-to-many or many-to-many relationship
/// field (`pub addresses: Many<Address>`).
///
/// A new model's collection is empty and loaded; one read from the database is loaded on
/// first access as its relationship's `lazy` says.
pub struct Many<T: Model> {
    slot: Mutex<Slot<T>>,
}

impl<T: Model> Default for Many<T> {
    fn default() -> Self {
        Many {
            slot: Mutex::new(Slot::loaded_with(Vec::new())),
        }
    }
}

impl<T: Model> Many<T> {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// A collection of the given objects, for a new parent.
    pub fn of(items: impl IntoIterator<Item = Obj<T>>) -> Self {
        Many {
            slot: Mutex::new(Slot::loaded_with(items.into_iter().collect())),
        }
    }

    /// The related objects, loaded first if they are not (one SELECT for `lazy = "select"`).
    ///
    /// Fails with `InvalidRequest` for a relationship loaded with `raise`, and with
    /// `DetachedInstance` when the object has left its session and this was never loaded.
    pub fn get(&self) -> Result<Vec<Obj<T>>> {
        load(&self.slot)
    }

    /// Whether the collection is loaded (reading it sends no SQL).
    pub fn is_loaded(&self) -> bool {
        lock(&self.slot).live().is_some()
    }

    /// Appends `obj` (loading the collection first if needed). With `back_populates`, the
    /// other side points back at once; the next flush writes the foreign key or the
    /// association row, and adds `obj` to the session if it is new (save-update cascade).
    pub fn push(&self, obj: &Obj<T>) -> Result<()> {
        let mut items = load(&self.slot)?;
        if items.iter().any(|o| o.ptr_eq(obj)) {
            return Ok(());
        }
        let bound = bound(&self.slot)?;
        let strong = bound
            .as_ref()
            .map_or(true, |b| !held_back(b.rel, b.owner.addr(), &*obj.handle()));
        {
            let mut s = lock(&self.slot);
            s.loaded
                .get_or_insert_with(Vec::new)
                .push(Link::to(obj, strong));
            s.record_added(obj);
        }
        items.push(obj.clone());
        match bound {
            Some(bound) => after_change(&bound, Some(&obj.handle()), None),
            None => Ok(()),
        }
    }

    /// Appends a new object made from `model` and returns its handle.
    pub fn push_new(&self, model: T) -> Result<Obj<T>> {
        let obj = Obj::new(model);
        self.push(&obj)?;
        Ok(obj)
    }

    /// Removes `obj`; returns whether it was there. The next flush sets its foreign key to
    /// NULL, deletes the association row, or (with `delete-orphan`) deletes it.
    pub fn remove(&self, obj: &Obj<T>) -> Result<bool> {
        load(&self.slot)?;
        let found = {
            let mut s = lock(&self.slot);
            let addr = obj.addr();
            let before = s.loaded.as_ref().map_or(0, Vec::len);
            if let Some(items) = s.loaded.as_mut() {
                items.retain(|l| l.addr() != addr);
            }
            let found = s.loaded.as_ref().map_or(0, Vec::len) != before;
            if found {
                s.record_removed(obj);
            }
            found
        };
        if found {
            if let Some(bound) = bound(&self.slot)? {
                after_change(&bound, None, Some(&obj.handle()))?;
            }
        }
        Ok(found)
    }
}

impl<T: Model> From<Vec<T>> for Many<T> {
    fn from(models: Vec<T>) -> Self {
        Many::of(models.into_iter().map(Obj::new))
    }
}

impl<T: Model> FromIterator<T> for Many<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Many::of(iter.into_iter().map(Obj::new))
    }
}

impl<T: Model> Clone for Many<T> {
    /// A copy holds the same objects, tied to no parent.
    fn clone(&self) -> Self {
        Many::of(lock(&self.slot).live().unwrap_or_default())
    }
}

impl<T: Model> fmt::Debug for Many<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The objects are not printed: related objects often point back, which would recurse.
        match lock(&self.slot).loaded.as_ref() {
            Some(items) => write!(
                f,
                "Many<{}>({} loaded)",
                T::mapper().model_name(),
                items.len()
            ),
            None => write!(f, "Many<{}>(not loaded)", T::mapper().model_name()),
        }
    }
}

/// A reference to one related object: the value of a many-to-one or one-to-one relationship
/// field (`pub user: One<User>`).
pub struct One<T: Model> {
    slot: Mutex<Slot<T>>,
}

impl<T: Model> Default for One<T> {
    fn default() -> Self {
        One {
            slot: Mutex::new(Slot::loaded_with(Vec::new())),
        }
    }
}

impl<T: Model> One<T> {
    /// No related object.
    pub fn none() -> Self {
        Self::default()
    }

    /// A reference to `obj`, for a new model.
    pub fn to(obj: &Obj<T>) -> Self {
        One {
            slot: Mutex::new(Slot::loaded_with(vec![obj.clone()])),
        }
    }

    /// The related object, loaded first if it is not: a many-to-one whose object is in the
    /// session's identity map costs no SQL, else one SELECT.
    ///
    /// Fails as [`Many::get`] does.
    pub fn get(&self) -> Result<Option<Obj<T>>> {
        Ok(load(&self.slot)?.into_iter().next())
    }

    /// Whether the reference is loaded (reading it sends no SQL).
    pub fn is_loaded(&self) -> bool {
        lock(&self.slot).live().is_some()
    }

    /// Points the reference at `obj` (or at nothing). With `back_populates`, the old and new
    /// objects' collections follow at once; the next flush writes the foreign key.
    pub fn set(&self, obj: Option<&Obj<T>>) -> Result<()> {
        let old = load(&self.slot)?.into_iter().next();
        if match (&old, obj) {
            (Some(a), Some(b)) => a.ptr_eq(b),
            (None, None) => true,
            _ => false,
        } {
            return Ok(());
        }
        let bound = bound(&self.slot)?;
        let strong = match (&bound, obj) {
            (Some(b), Some(o)) => !held_back(b.rel, b.owner.addr(), &*o.handle()),
            _ => true,
        };
        {
            let mut s = lock(&self.slot);
            s.loaded = Some(obj.map(|o| Link::to(o, strong)).into_iter().collect());
            if let Some(old) = &old {
                s.record_removed(old);
            }
            if let Some(new) = obj {
                s.record_added(new);
            }
        }
        match bound {
            Some(bound) => after_change(
                &bound,
                obj.map(Obj::handle).as_ref(),
                old.map(|o| o.handle()).as_ref(),
            ),
            None => Ok(()),
        }
    }
}

impl<T: Model> From<T> for One<T> {
    fn from(model: T) -> Self {
        One::to(&Obj::new(model))
    }
}

impl<T: Model> Clone for One<T> {
    /// A copy refers to the same object, tied to no parent.
    fn clone(&self) -> Self {
        One {
            slot: Mutex::new(Slot::loaded_with(
                lock(&self.slot).live().unwrap_or_default(),
            )),
        }
    }
}

impl<T: Model> fmt::Debug for One<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lock(&self.slot).loaded.as_ref() {
            Some(items) if items.is_empty() => write!(f, "One<{}>(None)", T::mapper().model_name()),
            Some(_) => write!(f, "One<{}>(loaded)", T::mapper().model_name()),
            None => write!(f, "One<{}>(not loaded)", T::mapper().model_name()),
        }
    }
}

macro_rules! slot_impl {
    ($ty:ident, $collection:expr) => {
        impl<T: Model> $ty<T> {
            /// The field as the session sees it (used by the derive).
            #[doc(hidden)]
            pub fn as_relation(&self) -> RelationRef<'_> {
                RelationRef(self)
            }
        }

        impl<T: Model> AnySlot for $ty<T> {
            fn bind(&self, owner: Weak<dyn ObjHandle>, index: usize, loaded: bool) {
                let mut s = lock(&self.slot);
                s.owner = Some(owner);
                s.index = index as u32;
                if !loaded {
                    s.loaded = None;
                    s.changes = None;
                }
            }

            fn loaded(&self) -> Option<Vec<Arc<dyn ObjHandle>>> {
                lock(&self.slot)
                    .live()
                    .map(|items| items.iter().map(Obj::handle).collect())
            }

            fn is_loaded(&self) -> bool {
                lock(&self.slot)
                    .loaded
                    .as_ref()
                    .is_some_and(|items| items.iter().all(|l| l.get().is_some()))
            }

            fn set_loaded(&self, items: &[Arc<dyn ObjHandle>]) -> Result<()> {
                let objs = downcast::<T>(items)?;
                match bound(&self.slot)? {
                    Some(b) => store_loaded(&self.slot, b.rel, b.owner.addr(), &objs),
                    None => {
                        lock(&self.slot).loaded = Some(objs.into_iter().map(Link::Strong).collect())
                    }
                }
                Ok(())
            }

            fn assign(&self, items: &[Arc<dyn ObjHandle>]) -> Result<()> {
                let wanted = downcast::<T>(items)?;
                self.assign_objs(&wanted)
            }

            fn expire(&self) {
                let mut s = lock(&self.slot);
                s.loaded = None;
                s.strategy = None;
                s.changes = None;
            }

            fn set_strategy(&self, lazy: Lazy) {
                let mut s = lock(&self.slot);
                s.strategy = Some(lazy);
                if lazy == Lazy::NoLoad && s.loaded.is_none() {
                    s.loaded = Some(Vec::new());
                }
            }

            fn changes(&self) -> Changes {
                match &lock(&self.slot).changes {
                    Some(pending) => (
                        pending.added.iter().map(Obj::handle).collect(),
                        pending.removed.iter().map(Obj::handle).collect(),
                    ),
                    None => (Vec::new(), Vec::new()),
                }
            }

            fn is_inert(&self) -> bool {
                let s = lock(&self.slot);
                s.changes
                    .as_ref()
                    .map_or(true, |p| p.added.is_empty() && p.removed.is_empty())
                    && s.loaded.as_ref().map_or(true, Vec::is_empty)
            }

            fn clear_changes(&self) {
                lock(&self.slot).changes = None;
            }

            fn holds_strong(&self, addr: usize) -> bool {
                lock(&self.slot)
                    .loaded
                    .as_ref()
                    .is_some_and(|items| items.iter().any(|l| l.is_strong() && l.addr() == addr))
            }

            fn mirror_add(&self, owner: &Arc<dyn ObjHandle>) {
                let Ok(mut objs) = downcast::<T>(std::slice::from_ref(owner)) else {
                    return;
                };
                let Some(obj) = objs.pop() else { return };
                // The side that changed holds `obj`'s partner strongly, so this link is weak.
                let mut s = lock(&self.slot);
                let addr = obj.addr();
                if $collection {
                    if let Some(items) = s.loaded.as_mut() {
                        if !items.iter().any(|l| l.addr() == addr) {
                            items.push(Link::Weak(obj.downgrade()));
                        }
                    }
                } else {
                    let before = s.loaded.replace(vec![Link::Weak(obj.downgrade())]);
                    drop(s);
                    // A reference moved from another object: that object's collection (if
                    // loaded) lets go of this one, as SQLAlchemy's backrefs chain.
                    let previous = before.and_then(|links| links.first().and_then(Link::get));
                    if let Some(previous) = previous.filter(|p| p.addr() != addr) {
                        if let Ok(Some(Bound { owner: me, rel })) = bound(&self.slot) {
                            if let Some(reverse) = rel.reverse {
                                let _ = previous
                                    .handle()
                                    .relation(reverse, &mut |slot| slot.mirror_remove(&me));
                            }
                        }
                    }
                }
            }

            fn mirror_remove(&self, owner: &Arc<dyn ObjHandle>) {
                let addr = owner.addr();
                let mut s = lock(&self.slot);
                match s.loaded.as_mut() {
                    Some(items) => items.retain(|l| l.addr() != addr),
                    // A reference not loaded pointed at `owner`, which let it go: it is known
                    // to be empty now (loading it would find the old parent until the flush).
                    None if !$collection => s.loaded = Some(Vec::new()),
                    None => {}
                }
            }
        }
    };
}

impl<T: Model> Many<T> {
    fn assign_objs(&self, wanted: &[Obj<T>]) -> Result<()> {
        for current in self.get()? {
            if !wanted.iter().any(|w| w.ptr_eq(&current)) {
                self.remove(&current)?;
            }
        }
        for obj in wanted {
            self.push(obj)?;
        }
        Ok(())
    }
}

impl<T: Model> One<T> {
    fn assign_objs(&self, wanted: &[Obj<T>]) -> Result<()> {
        self.set(wanted.first())
    }
}

slot_impl!(Many, true);
slot_impl!(One, false);
