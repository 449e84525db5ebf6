//! Cargo features: each backend's driver is compiled only when its feature is on, and the
//! type crates behind the columns are re-exported, so that an application needs no direct
//! dependency on them (this crate has none on chrono, uuid, serde_json or rust_decimal).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use retort::chrono::{DateTime, NaiveDate, Utc};
use retort::prelude::*;
use retort::rust_decimal::Decimal;
use retort::serde_json::json;
use retort::uuid::Uuid;
use retort_testkit::for_each_backend;

/// The crates `cargo tree` lists as normal (non-dev) dependencies for `args`.
fn crates_in_tree(args: &[&str]) -> BTreeSet<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace)
        .args([
            "tree", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn tree_of(package: &str, features: &str) -> BTreeSet<String> {
    crates_in_tree(&[
        "-p",
        package,
        "--no-default-features",
        "--features",
        features,
    ])
}

/// The crates of `tree` whose names start with one of `prefixes`.
fn named(tree: &BTreeSet<String>, prefixes: &[&str]) -> Vec<String> {
    tree.iter()
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .cloned()
        .collect()
}

const POSTGRES_CRATES: &[&str] = &["postgres", "tokio"];
const MYSQL_CRATES: &[&str] = &["mysql"];
const SQLITE_CRATES: &[&str] = &["rusqlite", "libsqlite3-sys"];

/// `retort` with only `backend`'s feature: its `driver` crate is in the tree, the crates of the
/// other two backends are not.
fn assert_alone(backend: &str, driver: &str, others: [&[&str]; 2]) {
    let tree = tree_of("retort", backend);
    assert!(tree.contains(driver), "{driver} missing from {tree:?}");
    for crates in others {
        assert_eq!(
            named(&tree, crates),
            Vec::<String>::new(),
            "{backend} alone"
        );
    }
}

#[test]
fn a_sqlite_only_build_compiles_neither_other_driver() {
    assert_alone("sqlite", "rusqlite", [POSTGRES_CRATES, MYSQL_CRATES]);
}

#[test]
fn a_postgres_only_build_compiles_neither_other_driver() {
    assert_alone("postgres", "postgres", [SQLITE_CRATES, MYSQL_CRATES]);
}

#[test]
fn a_mysql_only_build_compiles_neither_other_driver() {
    assert_alone("mysql", "mysql", [SQLITE_CRATES, POSTGRES_CRATES]);
}

#[test]
fn the_default_features_are_sqlite_and_the_types_without_the_postgres_client() {
    // `decimal`, `chrono`, `uuid` and `json` reach into the PostgreSQL client only when its
    // feature is on.
    let tree = crates_in_tree(&["-p", "retort"]);
    for name in ["rusqlite", "chrono", "uuid", "serde_json", "rust_decimal"] {
        assert!(tree.contains(name), "{name} missing from {tree:?}");
    }
    assert_eq!(named(&tree, POSTGRES_CRATES), Vec::<String>::new());
    assert_eq!(named(&tree, MYSQL_CRATES), Vec::<String>::new());
    assert_eq!(named(&tree, &["bytes"]), Vec::<String>::new());
}

#[test]
fn the_orm_and_the_migrations_bring_no_driver_of_their_own() {
    let drivers = [SQLITE_CRATES, POSTGRES_CRATES, MYSQL_CRATES].concat();
    for package in ["retort-orm", "retort-migrate"] {
        let tree = crates_in_tree(&["-p", package]);
        assert!(tree.contains("retort-core"), "{tree:?}");
        assert_eq!(named(&tree, &drivers), Vec::<String>::new(), "{package}");
    }
}

/// Every column type from a re-exported crate, named through `retort::`.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "readings")]
pub struct Reading {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub day: Option<NaiveDate>,
    pub taken_at: Option<DateTime<Utc>>,
    pub sensor: Option<Uuid>,
    pub data: Option<retort::serde_json::Value>,
    #[retort(sql_type = numeric(12, 2))]
    pub amount: Option<Decimal>,
}

#[test]
fn models_use_the_type_crates_through_retort() {
    for_each_backend(|db| {
        Base::metadata().unwrap().create_all(db.engine()).unwrap();
        let written = Reading {
            id: None,
            day: NaiveDate::from_ymd_opt(2024, 2, 29),
            taken_at: DateTime::from_timestamp(1_700_000_000, 123_456_000),
            sensor: Some(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
            data: Some(json!({"celsius": [21, 22.5]})),
            amount: Some(Decimal::new(123_456, 2)),
        };
        let session = Session::new(db.engine());
        let obj = session.add(written.clone());
        session.commit().unwrap();
        let id = obj.read().unwrap().id;
        assert!(id.is_some());

        let fresh = Session::new(db.engine());
        let read = fresh.query::<Reading>().one().unwrap();
        assert_eq!(*read.read().unwrap(), Reading { id, ..written });
    });
}
