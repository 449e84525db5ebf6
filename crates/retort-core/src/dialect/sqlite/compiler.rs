//! sqlite's differences in statement SQL.

use super::SqliteDialect;
use crate::sql::compiler::SqlHooks;

impl SqlHooks for SqliteDialect {}
