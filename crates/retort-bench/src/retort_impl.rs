//! retort's own rows: **this is where retort's Core and ORM implementations plug in.**
//!
//! They are pending until retort's engine and Session exist. To add one:
//!
//! 1. Write a struct holding what the implementation needs across iterations (an `Engine` and a
//!    `Connection` for Core; a `Session` for the ORM), opened from [`Target::url`] for
//!    [`Target::backend`] (SQLite's `url` is a file path; the servers' are URLs of a fresh
//!    database that already has the schema of `admin.rs`). SQLite connections run
//!    [`crate::config::SQLITE_CONNECTION_PRAGMAS`] first, as every peer does.
//! 2. Implement [`Workloads`] for it: `type User`/`Post`/`Comment` are retort's own row types
//!    (for the ORM, `#[derive(Model)]` structs mapped to `users`, `posts`, `comments`), each
//!    with `From<...> for crate::data::{User, Post, Comment}` so the untimed checks can compare
//!    results with the seeded data.
//!    - Core: `select(users)` compiled once and executed on the connection, rows decoded by
//!      position; `insert(users)` with multi-row VALUES in one transaction; the join and the
//!      three IN-list queries for the nested load, as `raw.rs` does by hand.
//!    - ORM: `session.scalars(select(User))`, `session.get::<User>(id)` (with a fresh Session
//!      or `expunge_all` per iteration, so the identity map does not turn lookups into cache
//!      hits), `session.add_all` + `commit`, `outerjoin`, and `selectinload` for
//!      `User.posts` -> `Post.comments`.
//! 3. Push `runner(CORE, ...)` / `runner(ORM, ...)` in [`implementations`]: the bench, the
//!    checks and the summary table pick them up from there, and the summary stops printing
//!    "pending" in their columns.

use crate::config::Target;
use crate::workload::Runner;
#[cfg(doc)]
use crate::workload::Workloads;
use crate::BenchResult;

/// Function id of retort's Core rows (engine, connection, expression language; no Session).
pub const CORE: &str = "retort_core";

/// Function id of retort's ORM rows (models, Session).
pub const ORM: &str = "retort_orm";

/// retort's implementations for `target`, in the order [`CORE`], [`ORM`].
///
/// Empty until retort's engine and Session land (see the module documentation).
pub fn implementations(_target: &Target) -> BenchResult<Vec<Box<dyn Runner>>> {
    Ok(Vec::new())
}
