//! Engine, URL parsing, connection pool, connections, transactions and results.

pub mod driver;
