//! postgresql's differences in statement SQL.

use super::PostgresDialect;
use crate::sql::compiler::SqlHooks;

impl SqlHooks for PostgresDialect {}
