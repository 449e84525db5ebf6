//! Autogenerate's comparison and the Rust it writes, on hand-made database descriptions (no
//! database needed); `migrate_cycle.rs` runs the same against live databases.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::schema::{
    Column, ForeignKey, Index, MetaData, ReferentialAction, ReflectedColumn, ReflectedForeignKey,
    ReflectedIndex, ReflectedPrimaryKey, ReflectedTable, ReflectedUnique, Table, UniqueConstraint,
};
use retort_core::types::SqlType;
use retort_migrate::autogenerate::{compare, CompareOptions, Comparison};
use retort_migrate::codegen::steps_source;
use retort_migrate::Operation;

/// `compare` with the default options, which must succeed.
fn compare_default(d: &dyn Dialect, metadata: &MetaData, found: &[ReflectedTable]) -> Comparison {
    compare(d, metadata, found, &CompareOptions::default()).unwrap()
}

fn column(name: &str, sql_type: SqlType, nullable: bool) -> ReflectedColumn {
    ReflectedColumn {
        name: name.into(),
        sql_type,
        nullable,
        server_default: None,
        autoincrement: false,
        comment: None,
    }
}

fn table(name: &str, columns: Vec<ReflectedColumn>) -> ReflectedTable {
    ReflectedTable {
        name: name.into(),
        schema: None,
        primary_key: Some(ReflectedPrimaryKey {
            name: None,
            columns: vec!["id".into()],
        }),
        columns,
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        unique_constraints: Vec::new(),
        check_constraints: Vec::new(),
        comment: None,
    }
}

fn id() -> ReflectedColumn {
    ReflectedColumn {
        autoincrement: true,
        ..column("id", SqlType::Integer, false)
    }
}

fn users(metadata: &MetaData) -> Table {
    Table::new("users", metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)).unique())
        .build()
        .unwrap()
}

fn users_in_database() -> ReflectedTable {
    ReflectedTable {
        unique_constraints: vec![ReflectedUnique {
            name: Some("users_email_key".into()),
            columns: vec!["email".into()],
        }],
        ..table(
            "users",
            vec![
                id(),
                column("name", SqlType::string(50), false),
                column("email", SqlType::string(100), true),
            ],
        )
    }
}

#[test]
fn models_equal_to_the_database_give_no_change() {
    let metadata = MetaData::new();
    users(&metadata);
    for d in [
        &SqliteDialect as &dyn Dialect,
        &PostgresDialect,
        &MySqlDialect::default(),
    ] {
        let diff = compare_default(d, &metadata, &[users_in_database()]);
        assert!(diff.is_empty(), "{}: {:?}", d.name(), diff.summaries());
    }
}

#[test]
fn a_type_mysql_spells_differently_is_still_the_same_type() {
    let metadata = MetaData::new();
    Table::new("notes", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("body", SqlType::String(None)))
        .build()
        .unwrap();
    // MySQL has no unbounded VARCHAR: retort writes VARCHAR(255), and reads that back.
    let found = table(
        "notes",
        vec![id(), column("body", SqlType::string(255), true)],
    );
    let d = MySqlDialect::default();
    let diff = compare_default(&d, &metadata, std::slice::from_ref(&found));
    assert!(diff.is_empty(), "{:?}", diff.summaries());
    let diff = compare_default(&PostgresDialect, &metadata, &[found]);
    assert_eq!(diff.summaries(), ["change type of column notes.body"]);
}

#[test]
fn the_four_model_changes_of_the_cycle_are_found_exactly() {
    let metadata = MetaData::new();
    Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        // made NOT NULL
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)).unique())
        // added, with an index
        .column(Column::new("nickname", SqlType::string(30)).index())
        .build()
        .unwrap();
    // added, with a foreign key to users
    Table::new("posts", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .not_null()
                .foreign_key(ForeignKey::new("users.id").on_delete(ReferentialAction::Cascade)),
        )
        .build()
        .unwrap();
    let mut found = users_in_database();
    found.columns[1].nullable = true;

    let diff = compare_default(&PostgresDialect, &metadata, &[found]);
    assert_eq!(
        diff.summaries(),
        [
            "add table posts",
            "add column users.nickname",
            "change nullability of column users.name",
            "add index ix_users_nickname on users(nickname)",
        ]
    );
    let up = steps_source(&PostgresDialect, &diff.upgrade_steps()).unwrap();
    assert_eq!(
        up,
        r#"op.create_table(
    TableDef::new("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("user_id", SqlType::Integer).not_null())
        .constraint(ForeignKeyConstraint::new(["user_id"], "users", ["id"]).on_delete(ReferentialAction::Cascade)),
);
op.add_column("users", Column::new("nickname", SqlType::string(30)));
op.alter_column("users", "name").nullable(false).existing_type(SqlType::string(50)).existing_nullable(true).existing_server_default(None);
op.create_index("users", Index::new("ix_users_nickname", ["nickname"]));
"#
    );
    let down = steps_source(&PostgresDialect, &diff.downgrade_steps()).unwrap();
    assert_eq!(
        down,
        r#"op.drop_index("users", "ix_users_nickname");
op.alter_column("users", "name").nullable(true).existing_type(SqlType::string(50)).existing_nullable(false).existing_server_default(None);
// DESTRUCTIVE: drops column users.nickname and its values.
op.drop_column("users", "nickname");
// DESTRUCTIVE: drops table posts and every row in it.
op.drop_table("posts");
"#
    );
}

#[test]
fn a_dropped_table_is_marked_destructive_and_its_downgrade_recreates_it() {
    let metadata = MetaData::new();
    users(&metadata);
    let mut old = table("audit", vec![id(), column("what", SqlType::Text, false)]);
    old.indexes.push(ReflectedIndex {
        name: "ix_audit_what".into(),
        columns: vec!["what".into()],
        unique: false,
    });
    let diff = compare_default(&SqliteDialect, &metadata, &[users_in_database(), old]);
    assert_eq!(diff.summaries(), ["remove table audit"]);
    assert_eq!(
        steps_source(&SqliteDialect, &diff.upgrade_steps()).unwrap(),
        "// DESTRUCTIVE: drops table audit and every row in it.\nop.drop_table(\"audit\");\n"
    );
    assert_eq!(
        steps_source(&SqliteDialect, &diff.downgrade_steps()).unwrap(),
        r#"op.create_table(
    TableDef::new("audit")
        .column(Column::new("id", SqlType::Integer).primary_key().autoincrement(true))
        .column(Column::new("what", SqlType::Text).not_null())
        .index(Index::new("ix_audit_what", ["what"])),
);
"#
    );
}

#[test]
fn the_version_table_is_left_alone() {
    let metadata = MetaData::new();
    users(&metadata);
    let version = table(
        "retort_version",
        vec![column("version_num", SqlType::string(32), false)],
    );
    let options = CompareOptions {
        ignore_tables: vec!["retort_version".into()],
    };
    let diff = compare(
        &SqliteDialect,
        &metadata,
        &[users_in_database(), version],
        &options,
    )
    .unwrap();
    assert!(diff.is_empty(), "{:?}", diff.summaries());
}

#[test]
fn a_dropped_and_an_added_column_of_one_type_is_offered_as_a_rename() {
    let metadata = MetaData::new();
    Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("full_name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)).unique())
        .build()
        .unwrap();
    let diff = compare_default(&PostgresDialect, &metadata, &[users_in_database()]);
    assert_eq!(
        diff.summaries(),
        ["rename column users.name to full_name (or drop and add)"]
    );
    let up = steps_source(&PostgresDialect, &diff.upgrade_steps()).unwrap();
    assert!(up.contains("op.alter_column(\"users\", \"name\").rename_to(\"full_name\");\n"));
    assert!(up.contains("// op.add_column(\"users\", Column::new(\"full_name\", SqlType::string(50)).not_null());\n"));
    assert!(up.contains("// op.drop_column(\"users\", \"name\");\n"));
    assert!(up.contains("of the same type: this may be a"), "{up}");
    // The active operation is the rename: nothing is lost when the file runs as written.
    let active: Vec<_> = diff
        .upgrade_steps()
        .into_iter()
        .filter(|s| !s.commented_out)
        .collect();
    assert_eq!(active.len(), 1);
    assert!(
        matches!(&active[0].op, Operation::AlterColumn(a) if a.new_name.as_deref() == Some("full_name"))
    );
}

#[test]
fn unique_constraints_and_foreign_keys_are_compared_by_their_columns() {
    let metadata = MetaData::new();
    Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)))
        .constraint(UniqueConstraint::new(["name", "email"]))
        .index(Index::new("ix_users_email", ["email"]))
        .build()
        .unwrap();
    let mut found = users_in_database();
    found.foreign_keys.push(ReflectedForeignKey {
        name: Some("users_boss_fkey".into()),
        columns: vec!["id".into()],
        referred_schema: None,
        referred_table: "bosses".into(),
        referred_columns: vec!["id".into()],
        ondelete: None,
        onupdate: None,
    });
    // MySQL reports the same unique rule as a unique index: equal by columns.
    found.indexes.push(ReflectedIndex {
        name: "uq_any".into(),
        columns: vec!["name".into(), "email".into()],
        unique: true,
    });
    let diff = compare_default(&PostgresDialect, &metadata, &[found]);
    assert_eq!(
        diff.summaries(),
        [
            "remove foreign key users(id) -> bosses",
            "remove unique (email) on users",
            "add index ix_users_email on users(email)",
        ]
    );
    let up = steps_source(&PostgresDialect, &diff.upgrade_steps()).unwrap();
    assert!(up.contains(
        "op.drop_constraint(\"users\", \"users_boss_fkey\", ConstraintKind::ForeignKey);"
    ));
    assert!(
        up.contains("op.drop_constraint(\"users\", \"users_email_key\", ConstraintKind::Unique);")
    );
}

#[test]
fn server_defaults_compare_without_casts_and_case() {
    let metadata = MetaData::new();
    Table::new("flags", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("label", SqlType::string(20)).server_default("new"))
        .column(Column::new("on", SqlType::Boolean).server_default(true))
        .column(Column::new("tries", SqlType::Integer).server_default(3))
        .build()
        .unwrap();
    let with_defaults = |label: &str, on: &str, tries: &str| {
        let mut t = table(
            "flags",
            vec![
                id(),
                column("label", SqlType::string(20), true),
                column("on", SqlType::Boolean, true),
                column("tries", SqlType::Integer, true),
            ],
        );
        t.columns[1].server_default = Some(label.into());
        t.columns[2].server_default = Some(on.into());
        t.columns[3].server_default = Some(tries.into());
        t
    };
    let same = with_defaults("'new'::character varying", "true", "3");
    let diff = compare_default(&PostgresDialect, &metadata, &[same]);
    assert!(diff.is_empty(), "{:?}", diff.summaries());
    let changed = with_defaults("'old'::character varying", "true", "(4)");
    let diff = compare_default(&PostgresDialect, &metadata, &[changed]);
    assert_eq!(
        diff.summaries(),
        [
            "change server default of column flags.label",
            "change server default of column flags.tries",
        ]
    );
    let up = steps_source(&PostgresDialect, &diff.upgrade_steps()).unwrap();
    assert!(
        up.contains(".server_default(ServerDefault::value(\"new\"))"),
        "{up}"
    );
    assert!(
        up.contains(
            ".existing_server_default(Some(ServerDefault::text(\"'old'::character varying\")))"
        ),
        "{up}"
    );
}
