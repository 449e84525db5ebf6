//! mysql's differences in statement SQL.

use super::MySqlDialect;
use crate::sql::compiler::SqlHooks;

impl SqlHooks for MySqlDialect {}
