//! sqlite's differences in DDL.

use super::SqliteDialect;
use crate::schema::ddl::DdlHooks;

impl DdlHooks for SqliteDialect {}
