//! retort's ORM, built only on the public API of `retort-core`: models mapped with
//! `#[derive(Model)]`, and (in the modules that follow) the Session with its identity map and
//! unit of work.

#![warn(missing_docs)]

pub mod attr;
pub mod mapper;

pub use attr::Attr;
pub use mapper::{ColumnProperty, Mapper, Model};
