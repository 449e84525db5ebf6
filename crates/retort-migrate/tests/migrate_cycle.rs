//! The whole Alembic cycle on SQLite, PostgreSQL and MariaDB: autogenerate the first
//! revision from the models, upgrade, change the models (a column added, an index added, a
//! column made NOT NULL, a table with a foreign key added), autogenerate finds exactly those
//! changes, upgrade, `check` passes, and downgrade to base leaves only the version table —
//! with the rows kept by every step that does not drop them.
//!
//! A revision records its operations through a plain `fn`; here those functions replay the
//! operations autogenerate produced for the backend under test (the revision files it would
//! write hold the same operations as Rust, which `autogenerate_compare.rs` checks).

use std::cell::RefCell;

use retort_core::schema::{Column, ForeignKey, MetaData, Table, UniqueConstraint};
use retort_core::types::SqlType;
use retort_core::Engine;
use retort_migrate::autogenerate::Comparison;
use retort_migrate::{Migrator, Operation, Ops, Revision};
use retort_testkit::for_each_backend;

thread_local! {
    /// The generated operations: [first upgrade, first downgrade, second upgrade, second
    /// downgrade].
    static GENERATED: RefCell<[Vec<Operation>; 4]> = RefCell::new(Default::default());
}

fn replay(slot: usize, op: &mut Ops) {
    GENERATED.with(|g| {
        for operation in &g.borrow()[slot] {
            op.push(operation.clone());
        }
    });
}

const FIRST: Revision = Revision {
    id: "aaaa00000001",
    down_revisions: &[],
    message: "create users",
    upgrade: |op| replay(0, op),
    downgrade: |op| replay(1, op),
};

const SECOND: Revision = Revision {
    id: "bbbb00000002",
    down_revisions: &["aaaa00000001"],
    message: "nicknames and posts",
    upgrade: |op| replay(2, op),
    downgrade: |op| replay(3, op),
};

fn store(comparison: &Comparison, slots: (usize, usize)) {
    let active = |steps: Vec<retort_migrate::autogenerate::Step>| -> Vec<Operation> {
        steps
            .into_iter()
            .filter(|s| !s.commented_out)
            .map(|s| s.op)
            .collect()
    };
    GENERATED.with(|g| {
        let mut g = g.borrow_mut();
        g[slots.0] = active(comparison.upgrade_steps());
        g[slots.1] = active(comparison.downgrade_steps());
    });
}

fn models_v1() -> MetaData {
    let metadata = MetaData::new();
    Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)))
        .column(Column::new("email", SqlType::string(100)))
        .constraint(UniqueConstraint::new(["email"]).named("uq_users_email"))
        .build()
        .unwrap();
    metadata
}

fn models_v2() -> MetaData {
    let metadata = MetaData::new();
    Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)))
        .column(Column::new("nickname", SqlType::string(30)).index())
        .constraint(UniqueConstraint::new(["email"]).named("uq_users_email"))
        .build()
        .unwrap();
    Table::new("posts", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .not_null()
                .foreign_key(ForeignKey::new("users.id")),
        )
        .column(Column::new("title", SqlType::string(100)).not_null())
        .build()
        .unwrap();
    metadata
}

fn names(engine: &Engine) -> Vec<String> {
    engine
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT name FROM users ORDER BY id", &[])
        .unwrap()
        .scalars::<String>()
        .unwrap()
}

fn tables(engine: &Engine) -> Vec<String> {
    engine
        .connect()
        .unwrap()
        .inspect()
        .table_names(None)
        .unwrap()
}

#[test]
fn autogenerate_upgrade_change_autogenerate_upgrade_check_downgrade() {
    for_each_backend(|db| {
        let engine = db.engine();
        let backend = db.name();

        // The first revision, generated from the models against an empty database.
        let first = Migrator::new(Vec::new()).metadata(models_v1());
        let found = first.compare(engine).unwrap();
        assert_eq!(found.summaries(), ["add table users"], "{backend}");
        store(&found, (0, 1));
        let at_first = Migrator::new(vec![FIRST]).metadata(models_v1());
        at_first.upgrade(engine, "head").unwrap();
        assert!(at_first.compare(engine).unwrap().is_empty(), "{backend}");
        engine
            .connect()
            .unwrap()
            .exec_driver_sql(
                "INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.org'), ('Grace', NULL)",
                &[],
            )
            .unwrap();

        // The models change; autogenerate finds exactly those changes.
        let changed = Migrator::new(vec![FIRST]).metadata(models_v2());
        let found = changed.compare(engine).unwrap();
        assert_eq!(
            found.summaries(),
            [
                "add table posts",
                "add column users.nickname",
                "change nullability of column users.name",
                "add index ix_users_nickname on users(nickname)",
            ],
            "{backend}"
        );
        store(&found, (2, 3));

        let at_second = Migrator::new(vec![FIRST, SECOND]).metadata(models_v2());
        at_second.upgrade(engine, "head").unwrap();
        assert_eq!(at_second.current(engine).unwrap(), ["bbbb00000002"]);
        let mut out = Vec::new();
        at_second
            .clone()
            .run_with(
                [
                    "migrate",
                    "--url",
                    &db.url().render_as_string(false),
                    "check",
                ],
                &mut out,
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "No changes detected: the models and the database agree.\n",
            "{backend}"
        );
        assert_eq!(names(engine), ["Ada", "Grace"], "{backend}");
        let mut conn = engine.connect().unwrap();
        // The new NOT NULL holds, and the new foreign key.
        assert!(conn
            .exec_driver_sql("INSERT INTO users (name) VALUES (NULL)", &[])
            .is_err());
        assert!(conn
            .exec_driver_sql("INSERT INTO posts (user_id, title) VALUES (999, 'x')", &[])
            .is_err());
        conn.exec_driver_sql(
            "INSERT INTO posts (user_id, title) VALUES (1, 'Notes')",
            &[],
        )
        .unwrap();
        drop(conn);

        // One step down keeps the users; the way back up works again.
        at_second.downgrade(engine, "-1").unwrap();
        assert_eq!(tables(engine), ["retort_version", "users"], "{backend}");
        assert_eq!(names(engine), ["Ada", "Grace"], "{backend}");
        at_second.upgrade(engine, "head").unwrap();
        assert!(at_second.compare(engine).unwrap().is_empty(), "{backend}");

        at_second.downgrade(engine, "base").unwrap();
        assert_eq!(tables(engine), ["retort_version"], "{backend}");
    });
}

fn mood() -> SqlType {
    SqlType::enumeration("mood", ["happy", "sad"])
}

const MOODS: Revision = Revision {
    id: "cccc00000001",
    down_revisions: &[],
    message: "people with a mood",
    upgrade: |op| {
        op.create_table(
            retort_migrate::TableDef::new("people")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("mood", mood())),
        );
    },
    downgrade: |op| {
        op.drop_table("people");
    },
};

const MORE_MOODS: Revision = Revision {
    id: "dddd00000002",
    down_revisions: &["cccc00000001"],
    message: "pets share the mood type; people get a second mood",
    upgrade: |op| {
        op.create_table(
            retort_migrate::TableDef::new("pets")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("mood", mood())),
        );
        op.add_column("people", Column::new("yesterday", mood()));
    },
    downgrade: |op| {
        op.drop_column("people", "yesterday");
        op.drop_table("pets");
    },
};

#[test]
fn enum_types_are_shared_and_survive_a_downgrade() {
    for_each_backend(|db| {
        let engine = db.engine();
        let migrator = Migrator::new(vec![MOODS, MORE_MOODS]);
        // Twice: the second upgrade meets the types the downgrade left (PostgreSQL keeps a
        // named enum type after its table, as Alembic does).
        for _ in 0..2 {
            migrator.upgrade(engine, "head").unwrap();
            let mut conn = engine.connect().unwrap();
            conn.exec_driver_sql(
                "INSERT INTO people (mood, yesterday) VALUES ('happy', 'sad')",
                &[],
            )
            .unwrap();
            conn.exec_driver_sql("INSERT INTO pets (mood) VALUES ('sad')", &[])
                .unwrap();
            assert!(
                conn.exec_driver_sql("INSERT INTO pets (mood) VALUES ('angry')", &[])
                    .is_err(),
                "{}",
                db.name()
            );
            drop(conn);
            migrator.downgrade(engine, "base").unwrap();
            assert_eq!(tables(engine), ["retort_version"], "{}", db.name());
        }
    });
}

const STOCK: Revision = Revision {
    id: "eeee00000001",
    down_revisions: &[],
    message: "stock with a checked quantity",
    upgrade: |op| {
        op.create_table(
            retort_migrate::TableDef::new("stock")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("qty", SqlType::Integer))
                .column(Column::new("label", SqlType::string(20)))
                .constraint(retort_core::schema::CheckConstraint::new("qty >= 0").named("ck_qty"))
                .constraint(
                    retort_core::schema::CheckConstraint::new("length(label) > 0")
                        .named("ck_label"),
                ),
        );
    },
    downgrade: |op| {
        op.drop_table("stock");
    },
};

const NO_QTY: Revision = Revision {
    id: "ffff00000002",
    down_revisions: &["eeee00000001"],
    message: "drop the quantity",
    upgrade: |op| {
        op.drop_column("stock", "qty");
    },
    downgrade: |op| {
        op.add_column("stock", Column::new("qty", SqlType::Integer));
    },
};

/// SQLite refuses `DROP COLUMN` for a column a table CHECK names; the migration rebuilds the
/// table without the column and that check, keeping the other check and the rows.
#[test]
fn sqlite_drops_a_column_a_check_names() {
    let db = retort_testkit::sqlite();
    let engine = db.engine();
    let migrator = Migrator::new(vec![STOCK, NO_QTY]);
    migrator.upgrade(engine, "+1").unwrap();
    let mut conn = engine.connect().unwrap();
    conn.exec_driver_sql("INSERT INTO stock (qty, label) VALUES (3, 'bolts')", &[])
        .unwrap();
    drop(conn);
    migrator.upgrade(engine, "head").unwrap();
    let mut conn = engine.connect().unwrap();
    let found = conn.inspect().table("stock", None).unwrap();
    let columns: Vec<&str> = found.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["id", "label"]);
    let checks: Vec<_> = found
        .check_constraints
        .iter()
        .map(|c| c.name.as_deref())
        .collect();
    assert_eq!(checks, [Some("ck_label")]);
    let labels = conn
        .exec_driver_sql("SELECT label FROM stock", &[])
        .unwrap()
        .scalars::<String>()
        .unwrap();
    assert_eq!(labels, ["bolts"]);
    assert!(conn
        .exec_driver_sql("INSERT INTO stock (label) VALUES ('')", &[])
        .is_err());
}
