//! Migrations for retort, in the manner of Alembic: revisions written in Rust with an
//! operations API, a revision graph with branches and merges, a version table, upgrade and
//! downgrade online or as offline SQL, autogenerate from the models' metadata, and SQLite's
//! batch mode for the changes its `ALTER TABLE` cannot make.

#![warn(missing_docs)]

pub mod autogenerate;
pub mod batch;
pub mod codegen;
pub mod ops;
pub mod render;
pub mod revision;

pub use ops::{AlterColumn, Operation, Ops, TableDef, TableName};
pub use revision::Revision;
