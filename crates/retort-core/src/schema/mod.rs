//! Schema objects: MetaData, Table, Column, constraints, indexes; DDL and create_all.

pub mod ddl;
