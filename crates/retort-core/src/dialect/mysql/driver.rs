//! The mysql driver adapter.

use super::MySqlDialect;
use crate::engine::driver::DriverDialect;

impl DriverDialect for MySqlDialect {}
