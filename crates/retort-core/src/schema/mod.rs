//! Schema objects: MetaData, Table, Column, constraints, indexes; DDL and create_all.
//!
//! A [`MetaData`] holds [`Table`]s, each made of [`Column`]s, constraints and [`Index`]es, as in
//! SQLAlchemy Core. Nothing here touches a database: [`ddl`] renders the statements for a
//! dialect, and [`create`] runs them in dependency order through a [`DdlExecutor`].
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_core::schema::{create_table_sql, Column, MetaData, ReferentialAction, ForeignKey, Table};
//! use retort_core::types::SqlType;
//!
//! let metadata = MetaData::new();
//! let users = Table::new("users", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("name", SqlType::string(50)).not_null())
//!     .build()?;
//! let addresses = Table::new("addresses", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("email", SqlType::String(None)).index())
//!     .column(
//!         Column::new("user_id", SqlType::Integer)
//!             .foreign_key(ForeignKey::new("users.id").on_delete(ReferentialAction::Cascade)),
//!     )
//!     .build()?;
//! let sql = create_table_sql(&addresses, &PostgresDialect)?;
//! assert_eq!(sql[1], r#"CREATE INDEX "ix_addresses_email" ON "addresses" ("email")"#);
//! assert_eq!(metadata.sorted_tables()?[0].name(), users.name());
//! # Ok::<(), retort_core::Error>(())
//! ```

pub mod alter;
pub mod column;
pub mod constraint;
pub mod create;
pub mod ddl;
pub mod diagram;
pub mod join;
pub mod metadata;
pub mod naming;
pub mod reflect;
pub mod table;

pub use alter::ColumnChange;
pub use column::{Column, ForeignKey, ReferentialAction, ServerDefault};
pub use constraint::{
    CheckConstraint, Constraint, ForeignKeyConstraint, Index, PrimaryKeyConstraint,
    UniqueConstraint,
};
pub use create::{create_all, create_tables, drop_all, drop_tables, DdlExecutor};
pub use ddl::{
    create_index_sql, create_table_sql, drop_index_sql, drop_table_sql, CreateIndex, CreateTable,
    DdlHooks, DdlKind, DdlStatement, DropIndex, DropTable,
};
pub use join::{join_condition, JoinTable};
pub use metadata::{sort_tables, MetaData};
pub use naming::{ConstraintKind, NamingConvention};
pub use reflect::{
    ReflectedCheck, ReflectedColumn, ReflectedForeignKey, ReflectedIndex, ReflectedPrimaryKey,
    ReflectedTable, ReflectedUnique, ReflectionHooks,
};
pub use table::{Table, TableAlias, TableBuilder};
