//! postgresql's differences in DDL.

use super::PostgresDialect;
use crate::schema::ddl::DdlHooks;

impl DdlHooks for PostgresDialect {}
