//! mysql's differences in DDL.

use super::MySqlDialect;
use crate::schema::ddl::DdlHooks;

impl DdlHooks for MySqlDialect {}
