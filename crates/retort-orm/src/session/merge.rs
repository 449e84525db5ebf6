//! `Session::merge`: copying a detached or new object's state onto the session's object for
//! the same row, and following relationships with the merge cascade.

use super::*;
use crate::state::Handle;

impl SessionShared {
    /// Merges `source` into the session: the session's object for its key (from the identity
    /// map, else loaded) gets its column values, or `source` itself becomes pending when no
    /// such row exists. Then, for each relationship with the merge cascade, the related
    /// objects `source` holds are merged the same way and become the target's.
    pub(super) fn merge_handle(&self, source: &Handle) -> Result<Handle> {
        let mapper = source.mapper();
        let key = source.key_values()?;
        let target = {
            let mut state = self.lock();
            match self.find_by_key(&mut state, mapper, &key)? {
                Some(existing) if existing.addr() == source.addr() => existing,
                Some(existing) => {
                    // Registered as a write guard would be, so the next flush UPDATEs only
                    // the columns that differ.
                    existing.check_readable()?;
                    if existing.meta().record_write(|| existing.values())? {
                        state.touched.push(Arc::clone(&existing));
                    }
                    existing.set_values(&mut source.values()?.into_iter().enumerate())?;
                    existing
                }
                None => {
                    self.add_pending(&mut state, Arc::clone(source));
                    Arc::clone(source)
                }
            }
        };
        for rel in mapper.relationships()? {
            if !rel.cascade.merge || rel.viewonly {
                continue;
            }
            // What the source was given (a model's field as built); a field left at its
            // default holds nothing and leaves the target's relationship as it is.
            let mut given = Vec::new();
            source.relation(rel.index, &mut |slot| given = slot.changes().0)?;
            if given.is_empty() {
                continue;
            }
            if rel.back_populates && !Arc::ptr_eq(&target, source) {
                // Built into the source, the related objects point back at it; they are
                // about to belong to the target instead, and the source must not be reached
                // (and inserted) through them.
                if let Some(reverse) = rel.reverse {
                    for item in &given {
                        item.relation(reverse, &mut |slot| slot.mirror_remove(source))?;
                    }
                }
            }
            let merged = given
                .iter()
                .map(|item| self.merge_handle(item))
                .collect::<Result<Vec<_>>>()?;
            let mut result = Ok(());
            target.relation(rel.index, &mut |slot| result = slot.assign(&merged))?;
            result?;
        }
        Ok(target)
    }

    /// The session's object of `mapper` with primary key `key`: from the identity map when it
    /// is there and not expired, else loaded; `None` when the key has a NULL or no row has it.
    fn find_by_key(
        &self,
        state: &mut SessionState,
        mapper: &'static Mapper,
        key: &[Value],
    ) -> Result<Option<Handle>> {
        let Some(identity) = Key::from_values(key) else {
            return Ok(None);
        };
        let ikey = IdentityKey {
            model: mapper.model_type(),
            key: identity,
        };
        if let Some(existing) = state.identity.get(&ikey) {
            let meta = existing.meta();
            if meta.state == ObjectState::Deleted {
                return Ok(None);
            }
            if !meta.expired {
                drop(meta);
                return Ok(Some(Arc::clone(existing)));
            }
        }
        self.autoflush(state)?;
        self.load_by_key(state, mapper, key)
    }
}
