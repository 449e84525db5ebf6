//! DDL rendering: CREATE/DROP TABLE and INDEX, and the hooks a dialect overrides.

/// Pieces of DDL rendering a dialect may override.
pub trait DdlHooks {}
