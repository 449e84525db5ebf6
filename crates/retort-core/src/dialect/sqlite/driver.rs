//! The sqlite driver adapter.

use super::SqliteDialect;
use crate::engine::driver::DriverDialect;

impl DriverDialect for SqliteDialect {}
