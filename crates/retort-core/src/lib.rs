//! retort's Core: the engine and pool, schema objects and DDL, the SQL expression language
//! compiled per dialect, and one error type, in the spirit of SQLAlchemy Core.
//!
//! # Cargo features
//!
//! `sqlite`, `postgres` and `mysql` compile a backend's driver; every dialect's SQL, DDL and
//! reflection queries compile without them, and a URL for a backend left out fails with
//! [`Error::BackendNotCompiled`]. `chrono`, `uuid`, `json` and `decimal` add those column
//! types and re-export their crates ([`chrono`], [`uuid`], [`serde_json`], [`rust_decimal`]).
//! This crate's defaults turn everything on, for its own tests; applications depend on
//! `retort`, whose defaults are `sqlite` and the four types.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod dialect;
pub mod engine;
pub mod error;
pub mod schema;
pub mod sql;
pub mod testing;
pub mod types;
pub mod value;

pub use engine::connection::{Connection, RowStream, Savepoint, StatementRunner, Transaction};
pub use engine::result::{CursorResult, FromRow, Row, RowIndex, RowReader};
pub use engine::url::Url;
pub use engine::{
    create_engine, create_engine_with, Engine, EngineBuilder, EngineOptions, Inspector,
    IsolationLevel, PreparedStatement,
};
pub use error::{DatabaseError, Error, ErrorKind, MigrationError, Result};
pub use value::Value;

// The crates behind the column types, so that an application uses the very versions retort
// converts to and from.
#[cfg(feature = "chrono")]
pub use chrono;
#[cfg(feature = "decimal")]
pub use rust_decimal;
#[cfg(feature = "json")]
pub use serde_json;
#[cfg(feature = "uuid")]
pub use uuid;
