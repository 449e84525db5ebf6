//! retort side by side with the raw drivers, Diesel and SeaORM.
//!
//! Every implementation runs the same six workloads (see [`workload::Case`]) against the same
//! data set ([`data::Fixture`]) on SQLite (a WAL file, and in memory), and with
//! `RETORT_BENCH_BACKENDS` also on PostgreSQL and MariaDB. An implementation is a type implementing [`workload::Workloads`]; the list the
//! benchmark runs comes from [`implementations`]. retort's own rows plug into
//! [`retort_impl::implementations`]; one of them, the ORM loading relationships with
//! `joinedload`, runs only the two workloads that load related rows.
//!
//! The benchmark itself lives in `benches/comparison.rs`; `src/bin/memory.rs` measures the
//! memory each library needs to load 100 000 rows; `src/bin/summary.rs` turns criterion's
//! estimates and the memory figures into the tables of `BENCHMARKS.md` at the repository root.

#![warn(missing_docs)]

pub mod admin;
pub mod config;
pub mod data;
pub mod diesel_impl;
pub mod raw;
pub mod retort_impl;
pub mod sea_orm_impl;
pub mod workload;

use config::Target;
use workload::Runner;

/// The error every setup and check step returns: the peers have error types of their own, and
/// this crate only reports them.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with a [`BenchError`].
pub type BenchResult<T> = Result<T, BenchError>;

/// Renders an error with its chain of sources (the `postgres` driver's top-level message is
/// only "db error").
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Function id of the raw driver, the floor every ratio is taken against.
pub const BASELINE: &str = "raw";

/// Function ids in the order the summary prints them; retort's come right after the floor.
pub const IMPLEMENTATION_ORDER: &[&str] = &[
    BASELINE,
    retort_impl::CORE,
    retort_impl::ORM,
    retort_impl::ORM_JOINED,
    diesel_impl::NAME,
    sea_orm_impl::NAME,
    "sqlalchemy_core",
    "sqlalchemy_orm",
];

/// The implementations that run `trivial_query`, whose memory the `memory` bin measures.
pub const LOADING_IMPLEMENTATIONS: &[&str] = &[
    BASELINE,
    retort_impl::CORE,
    retort_impl::ORM,
    diesel_impl::NAME,
    sea_orm_impl::NAME,
];

/// Opens only the implementation called `name` (a function id) on `target`.
pub fn implementation(target: &Target, name: &str) -> BenchResult<Box<dyn Runner>> {
    match name {
        BASELINE => raw::connect(target),
        diesel_impl::NAME => diesel_impl::connect(target),
        sea_orm_impl::NAME => sea_orm_impl::connect(target),
        _ => retort_impl::implementations(target)?
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| format!("no implementation named `{name}`").into()),
    }
}

/// Opens one connection per implementation to `target`, in [`IMPLEMENTATION_ORDER`].
///
/// Call it after the target's schema exists: some drivers cache statements against it.
pub fn implementations(target: &Target) -> BenchResult<Vec<Box<dyn Runner>>> {
    let mut list = vec![raw::connect(target)?];
    list.extend(retort_impl::implementations(target)?);
    list.push(diesel_impl::connect(target)?);
    list.push(sea_orm_impl::connect(target)?);
    Ok(list)
}
