//! The postgresql driver adapter.

use super::PostgresDialect;
use crate::engine::driver::DriverDialect;

impl DriverDialect for PostgresDialect {}
