//! MetaData: the registry of a program's tables, and their foreign-key dependency order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use crate::error::{Error, Result};

use super::naming::NamingConvention;
use super::table::{Table, TableBuilder};

/// A collection of tables, in the order they were defined, with the naming convention their
/// constraints are named by. Cloning is cheap and shares the collection; it may be used from
/// several threads.
///
/// ```
/// use retort_core::schema::{Column, MetaData, Table};
/// use retort_core::types::SqlType;
///
/// let metadata = MetaData::new();
/// Table::new("addresses", &metadata)
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
///     .build()?;
/// Table::new("users", &metadata)
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .build()?;
/// let order: Vec<String> = metadata.sorted_tables()?.iter().map(|t| t.name().to_owned()).collect();
/// assert_eq!(order, ["users", "addresses"]);
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetaData {
    inner: Arc<RwLock<MetaDataInner>>,
}

#[derive(Debug, Default)]
struct MetaDataInner {
    tables: Vec<Table>,
    naming_convention: NamingConvention,
}

impl MetaData {
    /// An empty collection with the default naming convention.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the naming convention for the tables defined from now on (set it before defining
    /// any).
    pub fn with_naming_convention(self, convention: NamingConvention) -> Self {
        self.write().naming_convention = convention;
        self
    }

    /// The naming convention.
    pub fn naming_convention(&self) -> NamingConvention {
        self.read().naming_convention.clone()
    }

    /// The tables, in definition order.
    pub fn tables(&self) -> Vec<Table> {
        self.read().tables.clone()
    }

    /// The table registered under `key`: its name, or `schema.name` for a table in a schema.
    pub fn table(&self, key: &str) -> Option<Table> {
        self.read().tables.iter().find(|t| t.key() == key).cloned()
    }

    /// The tables ordered so that every table comes after the tables its foreign keys refer
    /// to (the order to create them in; drop them in reverse). Tables that do not depend on
    /// each other stay in definition order; self-references, references to tables outside the
    /// MetaData, and `use_alter` foreign keys do not count.
    ///
    /// A cycle of foreign keys is an [`Error::InvalidRequest`] naming the tables in it.
    pub fn sorted_tables(&self) -> Result<Vec<Table>> {
        sort_tables(&self.tables())
    }

    /// Removes the table registered under `key` and returns it.
    pub fn remove(&self, key: &str) -> Option<Table> {
        let mut inner = self.write();
        let pos = inner.tables.iter().position(|t| t.key() == key)?;
        Some(inner.tables.remove(pos))
    }

    /// Removes every table.
    pub fn clear(&self) {
        self.write().tables.clear();
    }

    /// Whether `self` and `other` are the same collection.
    pub fn ptr_eq(&self, other: &MetaData) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A link to the collection that does not keep it alive (its tables hold one).
    pub(crate) fn downgrade(&self) -> WeakMetaData {
        WeakMetaData(Arc::downgrade(&self.inner))
    }

    /// Builds `builder` and registers the table, replacing an existing one in place when it
    /// extends it. The lock is held throughout so that two threads defining the same table
    /// cannot both succeed.
    pub(crate) fn register(&self, builder: TableBuilder) -> Result<Table> {
        let mut inner = self.write();
        let key = builder.key();
        let pos = inner.tables.iter().position(|t| t.key() == key);
        let table = builder.finish(pos.map(|p| &inner.tables[p]), &inner.naming_convention)?;
        match pos {
            Some(p) => inner.tables[p] = table.clone(),
            None => inner.tables.push(table.clone()),
        }
        Ok(table)
    }

    // A panic while the lock was held cannot leave the Vec half-updated (every write is a
    // single push, remove or assignment), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, MetaDataInner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, MetaDataInner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A [`MetaData`] as its tables refer to it: weakly, since it holds them.
#[derive(Debug, Clone, Default)]
pub(crate) struct WeakMetaData(Weak<RwLock<MetaDataInner>>);

impl WeakMetaData {
    /// The collection, while it exists.
    pub(crate) fn upgrade(&self) -> Option<MetaData> {
        self.0.upgrade().map(|inner| MetaData { inner })
    }
}

/// Orders `tables` by foreign-key dependency, as [`MetaData::sorted_tables`] does.
pub fn sort_tables(tables: &[Table]) -> Result<Vec<Table>> {
    let index: HashMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.key(), i))
        .collect();
    let deps: Vec<Vec<usize>> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut d: Vec<usize> = t
                .foreign_keys()
                .filter(|fk| !fk.is_use_alter())
                .filter_map(|fk| index.get(fk.referred_key().as_str()).copied())
                .filter(|&j| j != i)
                .collect();
            d.dedup();
            d
        })
        .collect();
    let mut placed = vec![false; tables.len()];
    let mut sorted = Vec::with_capacity(tables.len());
    // Each round places the first table (in definition order) whose dependencies are placed,
    // which keeps unrelated tables in definition order.
    while sorted.len() < tables.len() {
        let next = (0..tables.len()).find(|&i| !placed[i] && deps[i].iter().all(|&d| placed[d]));
        match next {
            Some(i) => {
                placed[i] = true;
                sorted.push(tables[i].clone());
            }
            None => return Err(cycle_error(tables, &deps, &placed)),
        }
    }
    Ok(sorted)
}

/// Names the unplaced tables that lie on a cycle (not those merely depending on one).
fn cycle_error(tables: &[Table], deps: &[Vec<usize>], placed: &[bool]) -> Error {
    let reaches_itself = |start: usize| {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = deps[start].clone();
        while let Some(n) = stack.pop() {
            if n == start {
                return true;
            }
            if !placed[n] && seen.insert(n) {
                stack.extend(&deps[n]);
            }
        }
        false
    };
    let names: Vec<String> = (0..tables.len())
        .filter(|&i| !placed[i] && reaches_itself(i))
        .map(|i| format!("'{}'", tables[i].key()))
        .collect();
    Error::InvalidRequest(format!(
        "cannot order tables {} for CREATE/DROP: their foreign keys form a cycle; mark one of \
         those foreign keys use_alter() so that it is added with ALTER TABLE after the tables \
         exist",
        names.join(", ")
    ))
}
