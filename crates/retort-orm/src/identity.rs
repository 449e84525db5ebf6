//! Identity keys and the identity map: within one session, one row is one object.

use std::any::TypeId;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use retort_core::value::Value;
use retort_core::{Error, Result};

use crate::state::ObjHandle;

/// One component of a primary key, in a form that can be hashed and compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum KeyPart {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// Any other value type, by its display form (dates, UUIDs, decimals).
    Other(String),
}

impl KeyPart {
    fn from_value(value: &Value) -> Option<KeyPart> {
        Some(match value {
            Value::Null => return None,
            Value::Int(i) => KeyPart::Int(*i),
            Value::Bool(b) => KeyPart::Int(i64::from(*b)),
            Value::Text(s) => KeyPart::Text(s.clone()),
            Value::Bytes(b) => KeyPart::Bytes(b.clone()),
            other => KeyPart::Other(other.to_string()),
        })
    }
}

/// A row's primary key. `None` components are not allowed: an object whose key is not yet
/// known (a pending object before its INSERT) has no key at all.
///
/// Kept to 16 bytes, as every object and every identity-map entry holds one: an integer key,
/// the common case, is inline; any other key is boxed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A single integer (or boolean) column.
    Int(i64),
    /// A single column of another type, or a composite key.
    Parts(Box<[KeyPart]>),
}

impl Key {
    /// The key made of `values`, or `None` if any component is NULL.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Key> {
        let mut values = values.into_iter();
        let first = KeyPart::from_value(values.next()?)?;
        match (first, values.next()) {
            (KeyPart::Int(i), None) => Some(Key::Int(i)),
            (first, None) => Some(Key::Parts(Box::new([first]))),
            (first, Some(second)) => {
                let mut parts = vec![first, KeyPart::from_value(second)?];
                for value in values {
                    parts.push(KeyPart::from_value(value)?);
                }
                Some(Key::Parts(parts.into_boxed_slice()))
            }
        }
    }
}

/// The hasher of the identity map and of the loaders' maps keyed by identity: rustc's own
/// fast, non-cryptographic hash (`rustc-hash`). Identity keys are mostly integers, where
/// SipHash dominated the cost of loading rows.
pub(crate) type FastHasher = rustc_hash::FxHasher;

/// A map with the fast hasher: for the session's maps keyed by objects' addresses (chosen by
/// no one) and by identity keys.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A set with the fast hasher, as [`FastMap`].
pub(crate) type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// What the identity map is keyed by: the model type and the primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityKey {
    pub model: TypeId,
    pub key: Key,
}

/// The identity map of one session: one map of keys to objects per model type, so an entry
/// is only its key and its object (32 bytes), not the model type too.
#[derive(Default)]
pub(crate) struct IdentityMap {
    by_model: FastMap<TypeId, FastMap<Key, Arc<dyn ObjHandle>>>,
}

impl IdentityMap {
    pub fn entry(&mut self, model: TypeId, key: Key) -> Entry<'_, Key, Arc<dyn ObjHandle>> {
        self.by_model.entry(model).or_default().entry(key)
    }

    /// Makes room for `additional` more objects of `model`, so loading many rows rehashes
    /// once.
    pub fn reserve(&mut self, model: TypeId, additional: usize) {
        self.by_model.entry(model).or_default().reserve(additional);
    }

    pub fn get(&self, key: &IdentityKey) -> Option<&Arc<dyn ObjHandle>> {
        self.by_model.get(&key.model)?.get(&key.key)
    }

    /// Adds `obj` under `key`; another object already there under the same key is an error
    /// (two objects may not claim one row).
    pub fn insert(&mut self, key: IdentityKey, obj: Arc<dyn ObjHandle>) -> Result<()> {
        match self.entry(key.model, key.key) {
            Entry::Occupied(existing) => {
                if !Arc::ptr_eq(existing.get(), &obj) {
                    return Err(Error::InvalidRequest(format!(
                        "another {} object with the same primary key {:?} is already in this \
                         session",
                        obj.model_name(),
                        existing.key()
                    )));
                }
            }
            Entry::Vacant(vacant) => {
                vacant.insert(obj);
            }
        }
        Ok(())
    }

    pub fn remove(&mut self, key: &IdentityKey) -> Option<Arc<dyn ObjHandle>> {
        self.by_model.get_mut(&key.model)?.remove(&key.key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<dyn ObjHandle>> {
        self.by_model.values().flat_map(|objects| objects.values())
    }

    pub fn len(&self) -> usize {
        self.by_model.values().map(|objects| objects.len()).sum()
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Arc<dyn ObjHandle>> + '_ {
        self.by_model
            .drain()
            .flat_map(|(_, objects)| objects.into_values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_identity_map_entry_is_a_key_and_a_handle() {
        // Every object and every entry hold a key: an integer key costs no allocation, and an
        // entry is 32 bytes.
        assert_eq!(size_of::<Key>(), 16);
        assert_eq!(size_of::<(Key, Arc<dyn ObjHandle>)>(), 32);
    }

    #[test]
    fn keys_with_null_components_do_not_exist() {
        assert!(Key::from_values([&Value::Int(1), &Value::Null]).is_none());
        assert_eq!(Key::from_values([&Value::Int(7)]), Some(Key::Int(7)));
        assert_eq!(
            Key::from_values([&Value::Int(1)]),
            Key::from_values([&Value::Int(1)])
        );
        assert_ne!(
            Key::from_values([&Value::Int(1)]),
            Key::from_values([&Value::Text("1".into())])
        );
    }
}
