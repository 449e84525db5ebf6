//! Identity keys and the identity map: within one session, one row is one object.

use std::any::TypeId;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A single-column key, kept inline: an integer key costs no allocation.
    One(KeyPart),
    /// A composite key.
    Many(Box<[KeyPart]>),
}

impl Key {
    /// The key made of `values`, or `None` if any component is NULL.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Key> {
        let mut values = values.into_iter();
        let first = KeyPart::from_value(values.next()?)?;
        match values.next() {
            None => Some(Key::One(first)),
            Some(second) => {
                let mut parts = vec![first, KeyPart::from_value(second)?];
                for value in values {
                    parts.push(KeyPart::from_value(value)?);
                }
                Some(Key::Many(parts.into_boxed_slice()))
            }
        }
    }
}

/// The hasher of the identity map and of the loaders' maps keyed by identity: rustc's own
/// fast, non-cryptographic hash (`rustc-hash`). Identity keys are mostly integers, where
/// SipHash dominated the cost of loading rows.
pub(crate) type FastHasher = rustc_hash::FxHasher;

/// What the identity map is keyed by: the model type and the primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityKey {
    pub model: TypeId,
    pub key: Key,
}

impl Hash for IdentityKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.model.hash(state);
        self.key.hash(state);
    }
}

/// The identity map of one session.
#[derive(Default)]
pub(crate) struct IdentityMap {
    objects: HashMap<IdentityKey, Arc<dyn ObjHandle>, BuildHasherDefault<FastHasher>>,
}

impl IdentityMap {
    pub fn entry(&mut self, key: IdentityKey) -> Entry<'_, IdentityKey, Arc<dyn ObjHandle>> {
        self.objects.entry(key)
    }

    /// Makes room for `additional` more objects, so loading many rows rehashes once.
    pub fn reserve(&mut self, additional: usize) {
        self.objects.reserve(additional);
    }

    pub fn get(&self, key: &IdentityKey) -> Option<&Arc<dyn ObjHandle>> {
        self.objects.get(key)
    }

    /// Adds `obj` under `key`; another object already there under the same key is an error
    /// (two objects may not claim one row).
    pub fn insert(&mut self, key: IdentityKey, obj: Arc<dyn ObjHandle>) -> Result<()> {
        if let Some(existing) = self.objects.get(&key) {
            if !Arc::ptr_eq(existing, &obj) {
                return Err(Error::InvalidRequest(format!(
                    "another {} object with the same primary key {:?} is already in this \
                     session",
                    obj.model_name(),
                    key.key
                )));
            }
            return Ok(());
        }
        self.objects.insert(key, obj);
        Ok(())
    }

    pub fn remove(&mut self, key: &IdentityKey) -> Option<Arc<dyn ObjHandle>> {
        self.objects.remove(key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<dyn ObjHandle>> {
        self.objects.values()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Arc<dyn ObjHandle>> + '_ {
        self.objects.drain().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_null_components_do_not_exist() {
        assert!(Key::from_values([&Value::Int(1), &Value::Null]).is_none());
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
