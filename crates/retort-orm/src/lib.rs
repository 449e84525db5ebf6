//! retort's ORM, built only on the public API of `retort-core`: models mapped with
//! `#[derive(Model)]`, and (in the modules that follow) the Session with its identity map and
//! unit of work.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod attr;
mod dependency;
mod identity;
mod loading;
pub mod mapper;
pub mod options;
pub mod query;
pub mod registry;
pub mod rel_query;
pub mod related;
pub mod relationship;
pub mod session;
pub mod state;
mod unit_of_work;

pub use attr::{Attr, Operand, Rel, RelatedField, TextColumn};
pub use mapper::{ColumnProperty, Mapper, Model};
pub use options::{contains_eager, joinedload, lazyload, noload, raiseload, selectinload, Load};
pub use query::{IntoKey, ModelSelect, Query};
pub use registry::{Base, ModelRegistration, Registry};
pub use rel_query::{with_parent, JoinPath, RelPath};
pub use related::{Many, One};
pub use relationship::{Cascade, Lazy, RelationshipProperty};
pub use session::{
    sessionmaker, NestedTransaction, ObjectStream, Partitions, Session, SessionMaker,
    SessionOptions,
};
pub use state::{Obj, ObjectState, ReadGuard, WriteGuard};

#[doc(hidden)]
pub use inventory as __inventory;
#[doc(hidden)]
pub use retort_core as __core;
