//! The interface between the engine and each database's driver adapter.

/// How a dialect opens connections.
pub trait DriverDialect {}
