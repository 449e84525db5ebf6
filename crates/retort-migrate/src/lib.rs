//! Migrations for retort, in the manner of Alembic: revisions written in Rust with an
//! operations API, a revision graph with branches and merges, a version table, upgrade and
//! downgrade online or as offline SQL, autogenerate from the models' metadata, and SQLite's
//! batch mode for the changes its `ALTER TABLE` cannot make.
//!
//! A project keeps its revisions in a `migrations/` folder compiled into a small migrator
//! binary it owns (`retort-migrate init` writes both); the binary hands the revisions and the
//! models' metadata to [`Migrator::run_cli`].

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod autogenerate;
pub mod batch;
pub mod cli;
pub mod codegen;
pub mod graph;
pub mod ops;
pub mod render;
pub mod revision;
pub mod runner;
pub mod scaffold;
pub mod version;

pub use graph::{RevisionGraph, Target};
pub use ops::{AlterColumn, BatchOps, Operation, Ops, TableDef, TableName};
pub use revision::Revision;
pub use runner::{Direction, Migrator};

/// What a revision file needs: `use retort_migrate::prelude::*;`.
pub mod prelude {
    pub use crate::ops::{AlterColumn, BatchOps, Operation, Ops, TableDef, TableName};
    pub use crate::revision::Revision;
    pub use retort_core::schema::{
        CheckConstraint, Column, Constraint, ConstraintKind, ForeignKey, ForeignKeyConstraint,
        Index, PrimaryKeyConstraint, ReferentialAction, ServerDefault, UniqueConstraint,
    };
    pub use retort_core::types::SqlType;
    pub use retort_core::Value;
}
