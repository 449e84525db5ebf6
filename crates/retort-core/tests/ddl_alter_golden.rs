//! Golden ALTER TABLE: the exact statements each dialect gets for each change. No database.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::schema::alter::{
    add_column, add_constraint, alter_column, alter_column_needs_existing, create_index,
    drop_column, drop_constraint, drop_index, rename_table, ColumnChange,
};
use retort_core::schema::*;
use retort_core::types::SqlType;
use retort_core::Error;

const SQLITE: SqliteDialect = SqliteDialect;
const PG: PostgresDialect = PostgresDialect;
const MYSQL: MySqlDialect = MySqlDialect { mariadb: false };
const MARIADB: MySqlDialect = MySqlDialect { mariadb: true };

fn sql(statements: Vec<DdlStatement>) -> Vec<String> {
    statements.into_iter().map(|s| s.sql).collect()
}

fn add(d: &dyn Dialect, column: Column) -> Vec<String> {
    sql(add_column(d, None, "users", &column).unwrap())
}

fn alter(d: &dyn Dialect, change: &ColumnChange, existing: Option<&Column>) -> Vec<String> {
    sql(alter_column(d, None, "users", "name", change, existing).unwrap())
}

#[test]
fn add_column_writes_the_full_definition() {
    let column = Column::new("age", SqlType::Integer)
        .not_null()
        .server_default(ServerDefault::value(0));
    assert_eq!(
        add(&SQLITE, column.clone()),
        [r#"ALTER TABLE "users" ADD COLUMN "age" INTEGER DEFAULT 0 NOT NULL"#]
    );
    assert_eq!(
        add(&PG, column.clone()),
        [r#"ALTER TABLE "users" ADD COLUMN "age" INTEGER DEFAULT 0 NOT NULL"#]
    );
    assert_eq!(
        add(&MYSQL, column),
        ["ALTER TABLE `users` ADD COLUMN `age` INTEGER DEFAULT 0 NOT NULL"]
    );
}

#[test]
fn add_column_in_a_schema() {
    let column = Column::new("note", SqlType::Text);
    assert_eq!(
        sql(add_column(&PG, Some("app"), "users", &column).unwrap()),
        [r#"ALTER TABLE "app"."users" ADD COLUMN "note" TEXT"#]
    );
}

#[test]
fn an_added_foreign_key_is_a_separate_constraint_where_the_database_can_add_one() {
    let column = Column::new("team_id", SqlType::Integer).foreign_key(
        ForeignKey::new("teams.id")
            .named("fk_users_team")
            .on_delete(ReferentialAction::Cascade),
    );
    assert_eq!(
        add(&PG, column.clone()),
        [
            r#"ALTER TABLE "users" ADD COLUMN "team_id" INTEGER"#,
            r#"ALTER TABLE "users" ADD CONSTRAINT "fk_users_team" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON DELETE CASCADE"#,
        ]
    );
    assert_eq!(
        add(&MARIADB, column.clone()),
        [
            "ALTER TABLE `users` ADD COLUMN `team_id` INTEGER",
            "ALTER TABLE `users` ADD CONSTRAINT `fk_users_team` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) ON DELETE CASCADE",
        ]
    );
    // SQLite cannot add a constraint but takes the column's own REFERENCES clause.
    assert_eq!(
        add(&SQLITE, column),
        [
            r#"ALTER TABLE "users" ADD COLUMN "team_id" INTEGER CONSTRAINT "fk_users_team" REFERENCES "teams" ("id") ON DELETE CASCADE"#
        ]
    );
}

#[test]
fn an_added_unique_indexed_or_commented_column_brings_its_extras() {
    let column = Column::new("email", SqlType::string(100))
        .unique()
        .comment("login");
    assert_eq!(
        add(&PG, column.clone()),
        [
            r#"ALTER TABLE "users" ADD COLUMN "email" VARCHAR(100)"#,
            r#"ALTER TABLE "users" ADD UNIQUE ("email")"#,
            r#"COMMENT ON COLUMN "users"."email" IS 'login'"#,
        ]
    );
    assert_eq!(
        add(&MYSQL, column.clone()),
        [
            "ALTER TABLE `users` ADD COLUMN `email` VARCHAR(100) COMMENT 'login'",
            "ALTER TABLE `users` ADD UNIQUE (`email`)",
        ]
    );
    let err = add_column(&SQLITE, None, "users", &column).unwrap_err();
    assert!(
        matches!(&err, Error::Compile(m) if m.contains("users.email") && m.contains("batch")),
        "{err}"
    );
    let indexed = Column::new("city", SqlType::Text).index();
    assert_eq!(
        add(&SQLITE, indexed),
        [
            r#"ALTER TABLE "users" ADD COLUMN "city" TEXT"#,
            r#"CREATE INDEX "ix_users_city" ON "users" ("city")"#,
        ]
    );
}

#[test]
fn an_added_enum_column() {
    let column = Column::new("mood", SqlType::enumeration("mood", ["sad", "ok"]));
    assert_eq!(
        add(&PG, column.clone()),
        [
            r#"CREATE TYPE "mood" AS ENUM ('sad', 'ok')"#,
            r#"ALTER TABLE "users" ADD COLUMN "mood" "mood""#,
        ]
    );
    assert_eq!(
        add(&SQLITE, column.clone()),
        [r#"ALTER TABLE "users" ADD COLUMN "mood" VARCHAR(3) CHECK ("mood" IN ('sad', 'ok'))"#]
    );
    assert_eq!(
        add(&MYSQL, column),
        ["ALTER TABLE `users` ADD COLUMN `mood` ENUM('sad', 'ok')"]
    );
}

#[test]
fn drop_column_and_rename_table() {
    assert_eq!(
        drop_column(&SQLITE, None, "users", "age").unwrap().sql,
        r#"ALTER TABLE "users" DROP COLUMN "age""#
    );
    assert_eq!(
        drop_column(&MYSQL, None, "users", "age").unwrap().sql,
        "ALTER TABLE `users` DROP COLUMN `age`"
    );
    assert_eq!(
        rename_table(&PG, Some("app"), "users", "people")
            .unwrap()
            .sql,
        r#"ALTER TABLE "app"."users" RENAME TO "people""#
    );
    assert_eq!(
        rename_table(&MARIADB, None, "users", "people").unwrap().sql,
        "ALTER TABLE `users` RENAME TO `people`"
    );
}

#[test]
fn postgres_alters_clause_by_clause() {
    let change = ColumnChange {
        new_name: Some("full_name".into()),
        sql_type: Some(SqlType::Text),
        nullable: Some(false),
        server_default: Some(Some(ServerDefault::value("?"))),
    };
    assert_eq!(
        alter(&PG, &change, None),
        [
            r#"ALTER TABLE "users" ALTER COLUMN "name" TYPE TEXT USING "name"::TEXT"#,
            r#"ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL"#,
            r#"ALTER TABLE "users" ALTER COLUMN "name" SET DEFAULT '?'"#,
            r#"ALTER TABLE "users" RENAME COLUMN "name" TO "full_name""#,
        ]
    );
    let loosen = ColumnChange {
        nullable: Some(true),
        server_default: Some(None),
        ..ColumnChange::default()
    };
    assert_eq!(
        alter(&PG, &loosen, None),
        [
            r#"ALTER TABLE "users" ALTER COLUMN "name" DROP NOT NULL"#,
            r#"ALTER TABLE "users" ALTER COLUMN "name" DROP DEFAULT"#,
        ]
    );
    assert!(!alter_column_needs_existing(&PG, &change));
}

#[test]
fn mysql_restates_the_column_to_change_its_type_or_nullability() {
    let existing = Column::new("name", SqlType::string(50))
        .server_default(ServerDefault::text("'anon'"))
        .comment("display name");
    let tighten = ColumnChange {
        nullable: Some(false),
        ..ColumnChange::default()
    };
    assert!(alter_column_needs_existing(&MYSQL, &tighten));
    assert_eq!(
        alter(&MYSQL, &tighten, Some(&existing)),
        ["ALTER TABLE `users` MODIFY COLUMN `name` VARCHAR(50) DEFAULT 'anon' NOT NULL COMMENT 'display name'"]
    );
    let retype_and_rename = ColumnChange {
        new_name: Some("label".into()),
        sql_type: Some(SqlType::string(80)),
        server_default: Some(None),
        ..ColumnChange::default()
    };
    assert_eq!(
        alter(&MARIADB, &retype_and_rename, Some(&existing)),
        ["ALTER TABLE `users` CHANGE COLUMN `name` `label` VARCHAR(80) COMMENT 'display name'"]
    );
    let err = alter_column(&MYSQL, None, "users", "name", &tighten, None).unwrap_err();
    assert!(
        matches!(&err, Error::Argument(m) if m.contains("users.name") && m.contains("existing")),
        "{err}"
    );
}

#[test]
fn mysql_restating_an_autoincrementing_key_keeps_auto_increment() {
    let existing = Column::new("id", SqlType::Integer).primary_key();
    let change = ColumnChange {
        sql_type: Some(SqlType::BigInteger),
        ..ColumnChange::default()
    };
    assert_eq!(
        sql(alter_column(&MYSQL, None, "users", "id", &change, Some(&existing)).unwrap()),
        ["ALTER TABLE `users` MODIFY COLUMN `id` BIGINT NOT NULL AUTO_INCREMENT"]
    );
}

#[test]
fn mysql_renames_and_changes_defaults_without_restating() {
    let change = ColumnChange {
        new_name: Some("label".into()),
        server_default: Some(Some(ServerDefault::value(1))),
        ..ColumnChange::default()
    };
    assert!(!alter_column_needs_existing(&MYSQL, &change));
    assert_eq!(
        alter(&MYSQL, &change, None),
        [
            "ALTER TABLE `users` ALTER COLUMN `name` SET DEFAULT 1",
            "ALTER TABLE `users` RENAME COLUMN `name` TO `label`",
        ]
    );
}

#[test]
fn sqlite_renames_a_column_and_refuses_other_changes() {
    let rename = ColumnChange {
        new_name: Some("label".into()),
        ..ColumnChange::default()
    };
    assert_eq!(
        alter(&SQLITE, &rename, None),
        [r#"ALTER TABLE "users" RENAME COLUMN "name" TO "label""#]
    );
    let retype = ColumnChange {
        sql_type: Some(SqlType::Text),
        ..ColumnChange::default()
    };
    let err = alter_column(&SQLITE, None, "users", "name", &retype, None).unwrap_err();
    assert!(
        matches!(&err, Error::Compile(m) if m.contains("users.name") && m.contains("batch")),
        "{err}"
    );
    assert!(alter(&PG, &ColumnChange::default(), None).is_empty());
}

#[test]
fn add_constraints() {
    let unique = Constraint::from(UniqueConstraint::new(["email"]).named("uq_users_email"));
    let check = Constraint::from(CheckConstraint::new("age >= 0").named("ck_users_age"));
    let fk = Constraint::from(
        ForeignKeyConstraint::new(["team_id"], "teams", ["id"]).named("fk_users_team"),
    );
    let pk = Constraint::from(PrimaryKeyConstraint::new(["id"]).named("pk_users"));
    let on = |d: &dyn Dialect, c: &Constraint| add_constraint(d, None, "users", c).unwrap().sql;
    assert_eq!(
        on(&PG, &unique),
        r#"ALTER TABLE "users" ADD CONSTRAINT "uq_users_email" UNIQUE ("email")"#
    );
    assert_eq!(
        on(&PG, &check),
        r#"ALTER TABLE "users" ADD CONSTRAINT "ck_users_age" CHECK (age >= 0)"#
    );
    assert_eq!(
        on(&MYSQL, &fk),
        "ALTER TABLE `users` ADD CONSTRAINT `fk_users_team` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`)"
    );
    assert_eq!(
        on(&MARIADB, &pk),
        "ALTER TABLE `users` ADD CONSTRAINT `pk_users` PRIMARY KEY (`id`)"
    );
    let err = add_constraint(&SQLITE, None, "users", &unique).unwrap_err();
    assert!(
        matches!(&err, Error::Compile(m) if m.contains("'users'") && m.contains("batch")),
        "{err}"
    );
}

#[test]
fn drop_constraints_by_kind() {
    let on = |d: &dyn Dialect, name: &str, kind: ConstraintKind| {
        drop_constraint(d, None, "users", name, kind).unwrap().sql
    };
    for kind in [
        ConstraintKind::Unique,
        ConstraintKind::Check,
        ConstraintKind::ForeignKey,
        ConstraintKind::PrimaryKey,
    ] {
        assert_eq!(
            on(&PG, "c1", kind),
            r#"ALTER TABLE "users" DROP CONSTRAINT "c1""#
        );
    }
    assert_eq!(
        on(&MYSQL, "fk1", ConstraintKind::ForeignKey),
        "ALTER TABLE `users` DROP FOREIGN KEY `fk1`"
    );
    assert_eq!(
        on(&MYSQL, "uq1", ConstraintKind::Unique),
        "ALTER TABLE `users` DROP INDEX `uq1`"
    );
    assert_eq!(
        on(&MYSQL, "ck1", ConstraintKind::Check),
        "ALTER TABLE `users` DROP CHECK `ck1`"
    );
    assert_eq!(
        on(&MARIADB, "ck1", ConstraintKind::Check),
        "ALTER TABLE `users` DROP CONSTRAINT `ck1`"
    );
    assert_eq!(
        on(&MARIADB, "PRIMARY", ConstraintKind::PrimaryKey),
        "ALTER TABLE `users` DROP PRIMARY KEY"
    );
    assert!(matches!(
        drop_constraint(&SQLITE, None, "users", "uq1", ConstraintKind::Unique),
        Err(Error::Compile(_))
    ));
    assert!(matches!(
        drop_constraint(&PG, None, "users", "ix1", ConstraintKind::Index),
        Err(Error::Argument(_))
    ));
}

#[test]
fn indexes_by_table_name_alone() {
    let index = Index::new("ix_users_name", ["name", "age"]).unique();
    let on = |d: &dyn Dialect, schema| create_index(d, schema, "users", &index).unwrap().sql;
    assert_eq!(
        on(&PG, Some("app")),
        r#"CREATE UNIQUE INDEX "ix_users_name" ON "app"."users" ("name", "age")"#
    );
    assert_eq!(
        on(&SQLITE, Some("aux")),
        r#"CREATE UNIQUE INDEX "aux"."ix_users_name" ON "users" ("name", "age")"#
    );
    assert_eq!(
        on(&MYSQL, None),
        "CREATE UNIQUE INDEX `ix_users_name` ON `users` (`name`, `age`)"
    );
    assert_eq!(
        drop_index(&PG, Some("app"), "users", "ix_users_name")
            .unwrap()
            .sql,
        r#"DROP INDEX "app"."ix_users_name""#
    );
    assert_eq!(
        drop_index(&MYSQL, None, "users", "ix_users_name")
            .unwrap()
            .sql,
        "DROP INDEX `ix_users_name` ON `users`"
    );
    assert!(matches!(
        create_index(&PG, None, "users", &Index::on(["name"])),
        Err(Error::Argument(_))
    ));
}
