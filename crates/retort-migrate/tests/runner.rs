//! The migrator on a real database, on every backend: upgrade and downgrade by every kind of
//! target, current and stamp, a revision failing midway, foreign keys, branches and merges.

use retort_core::schema::{Column, ForeignKeyConstraint, Index};
use retort_core::types::SqlType;
use retort_core::{Engine, Error, ErrorKind};
use retort_migrate::{Migrator, Ops, Revision, TableDef};
use retort_testkit::{for_each_backend, TestDb};

fn users_up(op: &mut Ops) {
    op.create_table(
        TableDef::new("users")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null()),
    );
    op.create_index("users", Index::new("ix_users_name", ["name"]));
}
fn users_down(op: &mut Ops) {
    op.drop_table("users");
}
fn posts_up(op: &mut Ops) {
    op.create_table(
        TableDef::new("posts")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("user_id", SqlType::Integer))
            .constraint(
                ForeignKeyConstraint::new(["user_id"], "users", ["id"]).named("fk_posts_user"),
            ),
    );
}
fn posts_down(op: &mut Ops) {
    op.drop_table("posts");
}
fn seed_up(op: &mut Ops) {
    op.execute("INSERT INTO users (id, name) VALUES (1, 'ann')");
}
fn seed_down(op: &mut Ops) {
    op.execute("DELETE FROM users WHERE id = 1");
}

const USERS: Revision = Revision {
    id: "a1b2c3d4e5f6",
    down_revisions: &[],
    message: "create users",
    upgrade: users_up,
    downgrade: users_down,
};
const POSTS: Revision = Revision {
    id: "b2c3d4e5f6a7",
    down_revisions: &["a1b2c3d4e5f6"],
    message: "create posts",
    upgrade: posts_up,
    downgrade: posts_down,
};
const SEED: Revision = Revision {
    id: "c3d4e5f6a7b8",
    down_revisions: &["b2c3d4e5f6a7"],
    message: "seed ann",
    upgrade: seed_up,
    downgrade: seed_down,
};

fn linear() -> Migrator {
    Migrator::new(vec![USERS, POSTS, SEED])
}

/// Whether `table` can be read (it exists).
fn readable(engine: &Engine, table: &str) -> bool {
    engine
        .connect()
        .unwrap()
        .exec_driver_sql(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .is_ok()
}

fn users_count(engine: &Engine) -> i64 {
    let rows = engine
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT COUNT(*) FROM users", &[])
        .unwrap();
    rows.rows()[0].get::<i64>(0).unwrap()
}

#[test]
fn upgrade_and_downgrade_by_every_kind_of_target() {
    for_each_backend(|db| {
        let engine = db.engine();
        let m = linear();
        assert!(m.current(engine).unwrap().is_empty());

        m.upgrade(engine, "+1").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["a1b2c3d4e5f6"]);
        assert!(readable(engine, "users") && !readable(engine, "posts"));

        m.upgrade(engine, "head").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["c3d4e5f6a7b8"]);
        assert_eq!(users_count(engine), 1);
        // Upgrading again does nothing.
        m.upgrade(engine, "head").unwrap();
        assert_eq!(users_count(engine), 1);

        m.downgrade(engine, "-1").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["b2c3d4e5f6a7"]);
        assert_eq!(users_count(engine), 0);

        m.downgrade(engine, "a1b2").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["a1b2c3d4e5f6"]);
        assert!(readable(engine, "users") && !readable(engine, "posts"));

        m.upgrade(engine, "b2c3d4e5f6a7").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["b2c3d4e5f6a7"]);

        m.downgrade(engine, "base").unwrap();
        assert!(m.current(engine).unwrap().is_empty());
        assert!(!readable(engine, "users") && !readable(engine, "posts"));
        // The version table stays, empty.
        assert!(readable(engine, "retort_version"));

        let e = m.downgrade(engine, "c3d4").unwrap_err().to_string();
        assert!(e.contains("revision c3d4e5f6a7b8 is not applied"), "{e}");
    });
}

#[test]
fn stamp_records_without_running_and_an_unknown_stamp_is_refused() {
    for_each_backend(|db| {
        let engine = db.engine();
        let m = linear().version_table("my_versions");
        m.stamp(engine, "head").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["c3d4e5f6a7b8"]);
        assert!(readable(engine, "my_versions") && !readable(engine, "retort_version"));
        assert!(!readable(engine, "users"));
        m.stamp(engine, "a1b2c3d4e5f6").unwrap();
        assert_eq!(m.current(engine).unwrap(), ["a1b2c3d4e5f6"]);
        m.stamp(engine, "base").unwrap();
        assert!(m.current(engine).unwrap().is_empty());

        // A database stamped by a folder this one does not match.
        Migrator::new(vec![Revision {
            id: "ffff00000000",
            ..USERS
        }])
        .version_table("my_versions")
        .stamp(engine, "head")
        .unwrap();
        let e = m.upgrade(engine, "head").unwrap_err().to_string();
        assert!(
            e.contains("the database is at revision ffff00000000, which the migrations folder does not have"),
            "{e}"
        );
    });
}

fn broken_up(op: &mut Ops) {
    op.create_table(
        TableDef::new("half_done").column(Column::new("id", SqlType::Integer).primary_key()),
    );
    op.execute("INSERT INTO no_such_table (id) VALUES (1)");
}

const BROKEN: Revision = Revision {
    id: "d4e5f6a7b8c9",
    down_revisions: &["a1b2c3d4e5f6"],
    message: "fails at its second step",
    upgrade: broken_up,
    downgrade: users_down,
};

#[test]
fn a_failing_revision_leaves_the_last_good_one() {
    for_each_backend(|db| {
        let engine = db.engine();
        let m = Migrator::new(vec![USERS, BROKEN]);
        let e = m.upgrade(engine, "head").unwrap_err();
        match &e {
            Error::Migration(failure) => {
                assert_eq!(failure.revision, "d4e5f6a7b8c9");
                assert_eq!(failure.direction, "upgrade");
                assert_eq!((failure.step, failure.steps), (2, 2));
                assert_eq!(
                    failure.sql.as_deref(),
                    Some("INSERT INTO no_such_table (id) VALUES (1)")
                );
            }
            other => panic!("expected a migration error, got {other}"),
        }
        assert_eq!(e.kind(), Some(ErrorKind::UndefinedTable), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("upgrade of revision d4e5f6a7b8c9 failed at step 2 of 2")
                && text.contains("no_such_table"),
            "{text}"
        );
        // The first revision is complete and recorded on every backend.
        assert_eq!(m.current(engine).unwrap(), ["a1b2c3d4e5f6"]);
        assert!(readable(engine, "users"));
        // Where DDL is transactional nothing of the failed revision remains; MariaDB
        // committed its first step, and the version table still names the last complete one.
        let transactional = engine.dialect().capabilities().transactional_ddl;
        assert_eq!(
            readable(engine, "half_done"),
            !transactional,
            "{}",
            db.name()
        );
    });
}

fn orphan_up(op: &mut Ops) {
    op.execute("INSERT INTO posts (id, user_id) VALUES (1, 42)");
}
fn orphan_down(op: &mut Ops) {
    op.execute("DELETE FROM posts");
}

const ORPHAN: Revision = Revision {
    id: "e5f6a7b8c9d0",
    down_revisions: &["b2c3d4e5f6a7"],
    message: "a post without its user",
    upgrade: orphan_up,
    downgrade: orphan_down,
};

fn foreign_keys_on(db: &TestDb) -> bool {
    let mut conn = db.engine().connect().unwrap();
    let rows = conn.exec_driver_sql("PRAGMA foreign_keys", &[]).unwrap();
    rows.rows()[0].get::<i64>(0).unwrap() == 1
}

#[test]
fn a_revision_breaking_a_reference_is_rolled_back() {
    for_each_backend(|db| {
        let engine = db.engine();
        let m = Migrator::new(vec![USERS, POSTS, ORPHAN]);
        let e = m.upgrade(engine, "head").unwrap_err().to_string();
        assert!(e.contains("e5f6a7b8c9d0"), "{e}");
        assert_eq!(m.current(engine).unwrap(), ["b2c3d4e5f6a7"]);
        let mut conn = engine.connect().unwrap();
        let posts = conn
            .exec_driver_sql("SELECT COUNT(*) FROM posts", &[])
            .unwrap();
        assert_eq!(posts.rows()[0].get::<i64>(0).unwrap(), 0, "{}", db.name());
        drop(conn);
        if db.name() == "sqlite" {
            // Enforcement was off while the revision ran (so the check caught it) and is on again.
            assert!(
                e.contains("foreign key reference(s) pointing nowhere (in posts)"),
                "{e}"
            );
            assert!(foreign_keys_on(db));
        }
    });
}

fn nothing(_: &mut Ops) {}

fn rev(id: &'static str, down_revisions: &'static [&'static str]) -> Revision {
    Revision {
        id,
        down_revisions,
        message: id,
        upgrade: nothing,
        downgrade: nothing,
    }
}

fn table_up(name: &'static str) -> fn(&mut Ops) {
    match name {
        "left_t" => |op: &mut Ops| {
            op.create_table(
                TableDef::new("left_t").column(Column::new("id", SqlType::Integer).primary_key()),
            );
        },
        _ => |op: &mut Ops| {
            op.create_table(
                TableDef::new("right_t").column(Column::new("id", SqlType::Integer).primary_key()),
            );
        },
    }
}

#[test]
fn branches_and_a_merge() {
    for_each_backend(|db| {
        let engine = db.engine();
        let base = rev("000000aaaaaa", &[]);
        let left = Revision {
            upgrade: table_up("left_t"),
            downgrade: |op| {
                op.drop_table("left_t");
            },
            ..rev("111111bbbbbb", &["000000aaaaaa"])
        };
        let right = Revision {
            upgrade: table_up("right_t"),
            downgrade: |op| {
                op.drop_table("right_t");
            },
            ..rev("222222cccccc", &["000000aaaaaa"])
        };
        let branched = Migrator::new(vec![base, left, right]);
        assert_eq!(
            branched.graph().unwrap().heads(),
            ["111111bbbbbb", "222222cccccc"]
        );
        let e = branched.upgrade(engine, "head").unwrap_err().to_string();
        assert!(e.contains("several heads"), "{e}");

        branched.upgrade(engine, "111111bbbbbb").unwrap();
        assert_eq!(branched.current(engine).unwrap(), ["111111bbbbbb"]);
        branched.upgrade(engine, "heads").unwrap();
        assert_eq!(
            branched.current(engine).unwrap(),
            ["111111bbbbbb", "222222cccccc"]
        );
        assert!(readable(engine, "left_t") && readable(engine, "right_t"));

        let merged = Migrator::new(vec![
            base,
            left,
            right,
            rev("333333dddddd", &["111111bbbbbb", "222222cccccc"]),
        ]);
        assert_eq!(merged.graph().unwrap().heads(), ["333333dddddd"]);
        merged.upgrade(engine, "head").unwrap();
        assert_eq!(merged.current(engine).unwrap(), ["333333dddddd"]);

        // Undoing the merge brings both heads back; one branch comes down on its own.
        merged.downgrade(engine, "-1").unwrap_err();
        merged.downgrade(engine, "111111bbbbbb").unwrap();
        assert_eq!(
            merged.current(engine).unwrap(),
            ["111111bbbbbb", "222222cccccc"]
        );
        merged.downgrade(engine, "000000aaaaaa").unwrap();
        assert_eq!(merged.current(engine).unwrap(), ["000000aaaaaa"]);
        assert!(!readable(engine, "left_t") && !readable(engine, "right_t"));
        merged.upgrade(engine, "head").unwrap();
        assert_eq!(merged.current(engine).unwrap(), ["333333dddddd"]);
        merged.downgrade(engine, "base").unwrap();
        assert!(merged.current(engine).unwrap().is_empty());
    });
}
