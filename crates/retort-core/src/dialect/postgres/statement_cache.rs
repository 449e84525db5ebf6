//! The connection's prepared statements, keyed by SQL text, evicting the least recently used
//! when full.
//!
//! A hit is a hash lookup and a counter bump; only an insert into a full cache scans for the
//! oldest entry, which at a few hundred entries costs less than the prepare round trip that
//! caused it.

use std::collections::HashMap;

pub(super) struct StatementCache<T> {
    capacity: usize,
    /// Each statement and when it was last used.
    entries: HashMap<String, (T, u64)>,
    clock: u64,
}

impl<T: Clone> StatementCache<T> {
    pub(super) fn new(capacity: usize) -> Self {
        StatementCache {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            clock: 0,
        }
    }

    /// The statement for `sql`, marked as just used.
    pub(super) fn get(&mut self, sql: &str) -> Option<T> {
        self.clock += 1;
        let (value, used) = self.entries.get_mut(sql)?;
        *used = self.clock;
        Some(value.clone())
    }

    /// Keeps `value` for `sql`, evicting the least recently used statement when full.
    pub(super) fn insert(&mut self, sql: &str, value: T) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(sql) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(sql, _)| sql.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(sql.to_owned(), (value, self.clock));
    }

    /// Forgets the statement for `sql`.
    pub(super) fn remove(&mut self, sql: &str) {
        self.entries.remove(sql);
    }
}

#[cfg(test)]
mod tests {
    use super::StatementCache;

    #[test]
    fn a_full_cache_evicts_the_statement_used_longest_ago() {
        let mut cache = StatementCache::new(3);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("c", 3);
        // "a" is used again, so "b" is now the oldest.
        assert_eq!(cache.get("a"), Some(1));
        cache.insert("d", 4);
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("c"), Some(3));
        assert_eq!(cache.get("d"), Some(4));
        // Now "a" is the oldest again.
        cache.insert("e", 5);
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.entries.len(), 3);
    }

    #[test]
    fn replacing_a_statement_evicts_nothing() {
        let mut cache = StatementCache::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("a", 10);
        assert_eq!(cache.get("a"), Some(10));
        assert_eq!(cache.get("b"), Some(2));
    }

    #[test]
    fn a_removed_statement_is_prepared_again() {
        let mut cache = StatementCache::new(2);
        cache.insert("a", 1);
        cache.remove("a");
        assert_eq!(cache.get("a"), None);
    }
}
