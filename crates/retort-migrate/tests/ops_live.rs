//! Each operation run on every backend, its effect checked through the database: a NOT NULL
//! rejects NULL, a renamed column answers, a unique constraint rejects a duplicate, ...
//!
//! SQLite's rebuilds need the table as it is; these tests hand it over as a fixed
//! description of what they created (reflection is tested with reflection).

use retort_core::schema::{
    CheckConstraint, Column, ConstraintKind, ForeignKey, ForeignKeyConstraint, Index,
    ReferentialAction, ReflectedCheck, ReflectedColumn, ReflectedForeignKey, ReflectedIndex,
    ReflectedPrimaryKey, ReflectedTable, ReflectedUnique, ServerDefault, UniqueConstraint,
};
use retort_core::types::SqlType;
use retort_core::{Connection, Result};
use retort_migrate::render::{operation_sql, SchemaSource};
use retort_migrate::{Ops, TableDef, TableName};
use retort_testkit::for_each_backend;

/// Hands out fixed table descriptions.
struct Fixed(Vec<ReflectedTable>);

impl SchemaSource for Fixed {
    fn reflect_table(&mut self, table: &TableName) -> Result<Option<ReflectedTable>> {
        Ok(self.0.iter().find(|t| t.name == table.name).cloned())
    }
}

/// Runs `ops` as the migration runner does on SQLite: foreign keys off before the transaction,
/// `PRAGMA foreign_key_check` before COMMIT, and the setting restored.
fn run(conn: &mut Connection, ops: Ops, source: &mut dyn SchemaSource) {
    let d = conn.dialect_ref();
    let sqlite = !d.capabilities().alter_column;
    let mut statements = Vec::new();
    for op in ops.operations() {
        statements.extend(operation_sql(&*d, op, source).unwrap());
    }
    if sqlite {
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF", &[])
            .unwrap();
        conn.begin_transaction().unwrap();
    }
    for sql in &statements {
        conn.exec_driver_sql(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    if sqlite {
        let broken = conn
            .exec_driver_sql("PRAGMA foreign_key_check", &[])
            .unwrap();
        assert!(
            broken.rows().is_empty(),
            "broken references after {statements:?}"
        );
        conn.commit_transaction().unwrap();
        conn.exec_driver_sql("PRAGMA foreign_keys=ON", &[]).unwrap();
    }
}

fn ops(record: impl FnOnce(&mut Ops)) -> Ops {
    let mut ops = Ops::new();
    record(&mut ops);
    ops
}

fn exec(conn: &mut Connection, sql: &str) -> Result<()> {
    conn.exec_driver_sql(sql, &[]).map(drop)
}

fn ints(conn: &mut Connection, sql: &str) -> Vec<i64> {
    let result = conn.exec_driver_sql(sql, &[]).unwrap();
    result
        .rows()
        .iter()
        .map(|r| r.get::<i64>(0).unwrap())
        .collect()
}

fn reflected_column(name: &str, sql_type: SqlType, nullable: bool) -> ReflectedColumn {
    ReflectedColumn {
        name: name.into(),
        sql_type,
        nullable,
        server_default: None,
        autoincrement: false,
        comment: None,
    }
}

/// The autoincrementing integer key `id`.
fn reflected_id() -> ReflectedColumn {
    ReflectedColumn {
        autoincrement: true,
        ..reflected_column("id", SqlType::Integer, false)
    }
}

/// The foreign key `name` from `column` to `referred_table.id`, with no actions.
fn reflected_fk(name: &str, column: &str, referred_table: &str) -> ReflectedForeignKey {
    ReflectedForeignKey {
        name: Some(name.into()),
        columns: vec![column.into()],
        referred_schema: None,
        referred_table: referred_table.into(),
        referred_columns: vec!["id".into()],
        ondelete: None,
        onupdate: None,
    }
}

fn reflected(name: &str, columns: Vec<ReflectedColumn>) -> ReflectedTable {
    ReflectedTable {
        name: name.into(),
        schema: None,
        columns,
        primary_key: Some(ReflectedPrimaryKey {
            name: None,
            columns: vec!["id".into()],
        }),
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        unique_constraints: Vec::new(),
        check_constraints: Vec::new(),
        comment: None,
    }
}

/// `people (id, name VARCHAR(50) NULL, age INTEGER NULL)` with one row.
fn people(conn: &mut Connection) -> ReflectedTable {
    run(
        conn,
        ops(|op| {
            op.create_table(
                TableDef::new("people")
                    .column(Column::new("id", SqlType::Integer).primary_key())
                    .column(Column::new("name", SqlType::string(50)))
                    .column(Column::new("age", SqlType::Integer)),
            );
        }),
        &mut Fixed(Vec::new()),
    );
    exec(
        conn,
        "INSERT INTO people (id, name, age) VALUES (1, 'ann', 30)",
    )
    .unwrap();
    reflected(
        "people",
        vec![
            reflected_id(),
            reflected_column("name", SqlType::string(50), true),
            reflected_column("age", SqlType::Integer, true),
        ],
    )
}

#[test]
fn add_column_with_default_and_not_null() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        people(&mut conn);
        run(
            &mut conn,
            ops(|op| {
                op.add_column(
                    "people",
                    Column::new("score", SqlType::Integer)
                        .not_null()
                        .server_default(ServerDefault::value(7)),
                );
            }),
            &mut Fixed(Vec::new()),
        );
        assert_eq!(
            ints(&mut conn, "SELECT score FROM people"),
            [7],
            "{}",
            db.name()
        );
        assert!(exec(&mut conn, "INSERT INTO people (id, score) VALUES (2, NULL)").is_err());
    });
}

#[test]
fn drop_column_and_renames() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        people(&mut conn);
        run(
            &mut conn,
            ops(|op| {
                op.drop_column("people", "name");
                op.alter_column("people", "age").rename_to("years");
                op.rename_table("people", "persons");
            }),
            &mut Fixed(Vec::new()),
        );
        assert!(
            exec(&mut conn, "SELECT name FROM persons").is_err(),
            "{}",
            db.name()
        );
        assert!(exec(&mut conn, "SELECT age FROM persons").is_err());
        assert!(exec(&mut conn, "SELECT id FROM people").is_err());
        assert_eq!(ints(&mut conn, "SELECT years FROM persons"), [30]);
    });
}

#[test]
fn alter_column_type_nullability_and_default() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let shape = people(&mut conn);
        run(
            &mut conn,
            ops(|op| {
                op.alter_column("people", "name")
                    .sql_type(SqlType::string(100))
                    .nullable(false)
                    .server_default(ServerDefault::value("anon"))
                    .existing_type(SqlType::string(50))
                    .existing_nullable(true)
                    .existing_server_default(None);
            }),
            &mut Fixed(vec![shape]),
        );
        let long = "x".repeat(80);
        exec(
            &mut conn,
            &format!("INSERT INTO people (id, name) VALUES (2, '{long}')"),
        )
        .unwrap_or_else(|e| panic!("{}: a longer name fits now: {e}", db.name()));
        assert!(exec(&mut conn, "INSERT INTO people (id, name) VALUES (3, NULL)").is_err());
        exec(&mut conn, "INSERT INTO people (id) VALUES (4)").unwrap();
        let names = conn
            .exec_driver_sql("SELECT name FROM people ORDER BY id", &[])
            .unwrap();
        let names: Vec<String> = names.rows().iter().map(|r| r.get(0).unwrap()).collect();
        assert_eq!(names, ["ann".to_string(), long, "anon".into()]);

        // And back: nullable again, default dropped.
        run(
            &mut conn,
            ops(|op| {
                op.alter_column("people", "name")
                    .nullable(true)
                    .drop_server_default()
                    .existing_type(SqlType::string(100))
                    .existing_nullable(false)
                    .existing_server_default(Some(ServerDefault::value("anon")));
            }),
            &mut Fixed(vec![reflected(
                "people",
                vec![
                    reflected_id(),
                    ReflectedColumn {
                        server_default: Some("'anon'".into()),
                        ..reflected_column("name", SqlType::string(100), false)
                    },
                    reflected_column("age", SqlType::Integer, true),
                ],
            )]),
        );
        exec(&mut conn, "INSERT INTO people (id, name) VALUES (5, NULL)").unwrap();
        exec(&mut conn, "INSERT INTO people (id) VALUES (6)").unwrap();
        assert_eq!(
            ints(
                &mut conn,
                "SELECT COUNT(*) FROM people WHERE id IN (5, 6) AND name IS NULL"
            ),
            [2],
            "{}",
            db.name()
        );
    });
}

#[test]
fn constraints_are_added_enforced_and_dropped() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let mut shape = people(&mut conn);
        run(
            &mut conn,
            ops(|op| {
                op.create_table(
                    TableDef::new("teams")
                        .column(Column::new("id", SqlType::Integer).primary_key()),
                );
                op.add_column("people", Column::new("team_id", SqlType::Integer));
            }),
            &mut Fixed(Vec::new()),
        );
        exec(&mut conn, "INSERT INTO teams (id) VALUES (1)").unwrap();
        shape
            .columns
            .push(reflected_column("team_id", SqlType::Integer, true));

        // Each rebuild on SQLite starts from the table as the previous step left it.
        let step = |conn: &mut Connection, shape: &ReflectedTable, op: Ops| {
            run(conn, op, &mut Fixed(vec![shape.clone()]));
        };
        step(
            &mut conn,
            &shape,
            ops(|op| {
                op.create_unique_constraint(
                    "people",
                    UniqueConstraint::new(["name"]).named("uq_people_name"),
                );
            }),
        );
        shape.unique_constraints.push(ReflectedUnique {
            name: Some("uq_people_name".into()),
            columns: vec!["name".into()],
        });
        step(
            &mut conn,
            &shape,
            ops(|op| {
                op.create_check_constraint(
                    "people",
                    CheckConstraint::new("age >= 0").named("ck_people_age"),
                );
            }),
        );
        shape.check_constraints.push(ReflectedCheck {
            name: Some("ck_people_age".into()),
            sqltext: "age >= 0".into(),
        });
        step(
            &mut conn,
            &shape,
            ops(|op| {
                op.create_foreign_key(
                    "people",
                    ForeignKeyConstraint::new(["team_id"], "teams", ["id"]).named("fk_people_team"),
                );
            }),
        );
        shape
            .foreign_keys
            .push(reflected_fk("fk_people_team", "team_id", "teams"));
        let duplicate = "INSERT INTO people (id, name) VALUES (10, 'ann')";
        let negative = "INSERT INTO people (id, age) VALUES (11, -1)";
        let orphan = "INSERT INTO people (id, team_id) VALUES (12, 99)";
        assert!(exec(&mut conn, duplicate).is_err(), "{}: unique", db.name());
        assert!(exec(&mut conn, negative).is_err(), "{}: check", db.name());
        assert!(
            exec(&mut conn, orphan).is_err(),
            "{}: foreign key",
            db.name()
        );
        assert_eq!(ints(&mut conn, "SELECT COUNT(*) FROM people"), [1]);

        // MySQL backs a foreign key with an index on its columns and will not drop that
        // index from under it, so the key goes first.
        for (name, kind) in [
            ("fk_people_team", ConstraintKind::ForeignKey),
            ("uq_people_name", ConstraintKind::Unique),
            ("ck_people_age", ConstraintKind::Check),
        ] {
            step(
                &mut conn,
                &shape,
                ops(|op| {
                    op.drop_constraint("people", name, kind);
                }),
            );
            shape
                .foreign_keys
                .retain(|fk| fk.name.as_deref() != Some(name));
            shape
                .unique_constraints
                .retain(|u| u.name.as_deref() != Some(name));
            shape
                .check_constraints
                .retain(|c| c.name.as_deref() != Some(name));
        }
        exec(&mut conn, duplicate).unwrap();
        exec(&mut conn, negative).unwrap();
        exec(&mut conn, orphan).unwrap();
    });
}

#[test]
fn indexes_are_created_and_dropped() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        people(&mut conn);
        run(
            &mut conn,
            ops(|op| {
                op.create_index("people", Index::new("ix_people_name", ["name"]).unique());
            }),
            &mut Fixed(Vec::new()),
        );
        let duplicate = "INSERT INTO people (id, name) VALUES (2, 'ann')";
        assert!(exec(&mut conn, duplicate).is_err(), "{}", db.name());
        run(
            &mut conn,
            ops(|op| {
                op.drop_index("people", "ix_people_name");
            }),
            &mut Fixed(Vec::new()),
        );
        exec(&mut conn, duplicate).unwrap();
    });
}

/// `items`: two indexes, a unique and a check constraint, a foreign key out to `parents` and
/// one in from `children` (ON DELETE CASCADE).
fn items_shape() -> ReflectedTable {
    ReflectedTable {
        foreign_keys: vec![reflected_fk("fk_items_parent", "parent_id", "parents")],
        indexes: vec![
            ReflectedIndex {
                name: "ix_items_qty".into(),
                columns: vec!["qty".into()],
                unique: false,
            },
            ReflectedIndex {
                name: "ix_items_parent_label".into(),
                columns: vec!["parent_id".into(), "label".into()],
                unique: true,
            },
        ],
        unique_constraints: vec![ReflectedUnique {
            name: Some("uq_items_code".into()),
            columns: vec!["code".into()],
        }],
        check_constraints: vec![ReflectedCheck {
            name: Some("ck_items_qty".into()),
            sqltext: "qty >= 0".into(),
        }],
        ..reflected(
            "items",
            vec![
                reflected_id(),
                reflected_column("code", SqlType::string(10), false),
                reflected_column("label", SqlType::string(20), true),
                reflected_column("qty", SqlType::Integer, true),
                reflected_column("parent_id", SqlType::Integer, true),
            ],
        )
    }
}

fn items_rows(conn: &mut Connection) -> Vec<(i64, String, Option<String>, i64, i64)> {
    let result = conn
        .exec_driver_sql(
            "SELECT id, code, label, qty, parent_id FROM items ORDER BY id",
            &[],
        )
        .unwrap();
    result
        .rows()
        .iter()
        .map(|r| {
            (
                r.get(0).unwrap(),
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                r.get(3).unwrap(),
                r.get(4).unwrap(),
            )
        })
        .collect()
}

#[test]
fn batch_changes_a_type_and_nullability_keeping_rows_indexes_and_constraints() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        run(
            &mut conn,
            ops(|op| {
                op.create_table(
                    TableDef::new("parents")
                        .column(Column::new("id", SqlType::Integer).primary_key()),
                );
                op.create_table(
                    TableDef::new("items")
                        .column(Column::new("id", SqlType::Integer).primary_key())
                        .column(Column::new("code", SqlType::string(10)).not_null())
                        .column(Column::new("label", SqlType::string(20)))
                        .column(Column::new("qty", SqlType::Integer))
                        .column(
                            Column::new("parent_id", SqlType::Integer).foreign_key(
                                ForeignKey::new("parents.id").named("fk_items_parent"),
                            ),
                        )
                        .constraint(UniqueConstraint::new(["code"]).named("uq_items_code"))
                        .constraint(CheckConstraint::new("qty >= 0").named("ck_items_qty"))
                        .index(Index::new("ix_items_qty", ["qty"]))
                        .index(
                            Index::new("ix_items_parent_label", ["parent_id", "label"]).unique(),
                        ),
                );
                op.create_table(
                    TableDef::new("children")
                        .column(Column::new("id", SqlType::Integer).primary_key())
                        .column(Column::new("item_id", SqlType::Integer).foreign_key(
                            ForeignKey::new("items.id").on_delete(ReferentialAction::Cascade),
                        )),
                );
            }),
            &mut Fixed(Vec::new()),
        );
        for sql in [
            "INSERT INTO parents (id) VALUES (1), (2)",
            "INSERT INTO items (id, code, label, qty, parent_id) VALUES \
             (1, 'a', 'one', 5, 1), (2, 'b', NULL, 0, 2), (3, 'c', 'three', 12, 1)",
            "INSERT INTO children (id, item_id) VALUES (1, 1), (2, 2), (3, 3)",
        ] {
            exec(&mut conn, sql).unwrap();
        }
        let before = items_rows(&mut conn);

        run(
            &mut conn,
            ops(|op| {
                op.batch_alter_table("items", |b| {
                    b.alter_column("qty")
                        .sql_type(SqlType::BigInteger)
                        .nullable(false)
                        .existing_type(SqlType::Integer)
                        .existing_nullable(true)
                        .existing_server_default(None);
                });
            }),
            &mut Fixed(vec![items_shape()]),
        );

        let name = db.name();
        assert_eq!(items_rows(&mut conn), before, "{name}: rows");
        assert_eq!(
            ints(&mut conn, "SELECT id FROM children ORDER BY id"),
            [1, 2, 3],
            "{name}: the children's ON DELETE CASCADE must not fire"
        );
        assert!(
            exec(&mut conn, "SELECT 1 FROM _retort_batch_items").is_err(),
            "{name}: the temporary table is gone"
        );
        let violations = [
            (
                "the new NOT NULL",
                "INSERT INTO items (id, code, qty) VALUES (10, 'z', NULL)",
            ),
            (
                "the unique constraint",
                "INSERT INTO items (id, code, qty) VALUES (11, 'a', 1)",
            ),
            (
                "the check constraint",
                "INSERT INTO items (id, code, qty) VALUES (12, 'y', -1)",
            ),
            (
                "the unique index",
                "INSERT INTO items (id, code, label, qty, parent_id) VALUES (13, 'x', 'one', 1, 1)",
            ),
            (
                "the foreign key out",
                "INSERT INTO items (id, code, qty, parent_id) VALUES (14, 'w', 1, 99)",
            ),
            (
                "the foreign key in",
                "INSERT INTO children (id, item_id) VALUES (9, 99)",
            ),
        ];
        for (what, sql) in violations {
            assert!(
                exec(&mut conn, sql).is_err(),
                "{name}: {what} lets `{sql}` through"
            );
        }
        // The new type holds what the old could not.
        exec(
            &mut conn,
            "INSERT INTO items (id, code, qty) VALUES (20, 'big', 5000000000)",
        )
        .unwrap();
        assert_eq!(
            ints(&mut conn, "SELECT qty FROM items WHERE id = 20"),
            [5_000_000_000]
        );
        // The foreign key in still cascades.
        exec(&mut conn, "DELETE FROM items WHERE id = 1").unwrap();
        assert_eq!(
            ints(&mut conn, "SELECT id FROM children ORDER BY id"),
            [2, 3]
        );
        // The plain index survived: dropping it works.
        run(
            &mut conn,
            ops(|op| {
                op.drop_index("items", "ix_items_qty");
            }),
            &mut Fixed(Vec::new()),
        );
    });
}
