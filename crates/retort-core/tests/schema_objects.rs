//! Schema objects without a database: definition checks, MetaData behaviour, and the
//! statements create_all / drop_all issue (recorded, not run).

use std::collections::HashSet;
use std::sync::Arc;

use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::DialectRef;
use retort_core::schema::*;
use retort_core::sql::compiler::Compiled;
use retort_core::types::SqlType;
use retort_core::value::Value;
use retort_core::{Error, Result};

fn id() -> Column {
    Column::new("id", SqlType::Integer).primary_key()
}

fn argument_error(result: Result<Table>, needle: &str) {
    match result {
        Err(Error::Argument(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected an Argument error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn redefining_a_table_is_an_error_unless_extend_existing() {
    let md = MetaData::new();
    let first = Table::new("users", &md)
        .column(id())
        .column(Column::new("name", SqlType::string(10)))
        .build()
        .unwrap();
    Table::new("other", &md).column(id()).build().unwrap();
    let err = Table::new("users", &md).column(id()).build().unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest(ref m) if m.contains("already defined") && m.contains("extend_existing")),
        "{err}"
    );
    assert!(md.table("users").unwrap().ptr_eq(&first));

    let extended = Table::new("users", &md)
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::Text).unique())
        .extend_existing()
        .build()
        .unwrap();
    let cols: Vec<&str> = extended.columns().iter().map(Column::name).collect();
    assert_eq!(cols, ["id", "name", "email"]);
    assert_eq!(
        extended.column("name").unwrap().sql_type(),
        &SqlType::string(50)
    );
    assert_eq!(
        extended.autoincrement_column().map(Column::name),
        Some("id")
    );
    assert_eq!(
        extended.constraints().len(),
        2,
        "primary key and the new unique"
    );
    // The MetaData now has the new definition, in the same place; the old handle is unchanged.
    assert!(md.table("users").unwrap().ptr_eq(&extended));
    let order: Vec<String> = md.tables().iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(order, ["users", "other"]);
    assert_eq!(first.columns().len(), 2);
}

#[test]
fn extend_existing_on_a_new_name_just_defines_it() {
    let md = MetaData::new();
    let t = Table::new("t", &md)
        .column(id())
        .extend_existing()
        .build()
        .unwrap();
    assert!(md.table("t").unwrap().ptr_eq(&t));
}

#[test]
fn bad_definitions_are_argument_errors() {
    let md = MetaData::new();
    argument_error(Table::new("", &md).column(id()).build(), "needs a name");
    argument_error(
        Table::new("t", &md)
            .column(id())
            .column(Column::new("id", SqlType::Text))
            .build(),
        "defined twice",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .constraint(UniqueConstraint::new(["nope"]))
            .build(),
        "'nope'",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .constraint(UniqueConstraint::new(Vec::<&str>::new()))
            .build(),
        "has no columns",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .index(Index::on(["nope"]))
            .build(),
        "'nope'",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .constraint(ForeignKeyConstraint::new(["nope"], "u", ["id"]))
            .build(),
        "'nope'",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .constraint(ForeignKeyConstraint::new(["id"], "u", ["a", "b"]))
            .build(),
        "pairs 1 column(s) with 2",
    );
    argument_error(
        Table::new("t", &md)
            .column(Column::new("u", SqlType::Integer).foreign_key("users"))
            .build(),
        "\"table.column\"",
    );
    argument_error(
        Table::new("t", &md).column(id().nullable(true)).build(),
        "cannot be nullable",
    );
    argument_error(
        Table::new("t", &md)
            .column(
                Column::new("id", SqlType::Text)
                    .primary_key()
                    .autoincrement(true),
            )
            .build(),
        "not an integer type",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .column(Column::new("n", SqlType::Integer).autoincrement(true))
            .build(),
        "not part of the primary key",
    );
    argument_error(
        Table::new("t", &md)
            .column(id().autoincrement(true))
            .column(
                Column::new("n", SqlType::Integer)
                    .primary_key()
                    .autoincrement(true),
            )
            .build(),
        "only one can be",
    );
    argument_error(
        Table::new("t", &md)
            .column(id())
            .column(Column::new("n", SqlType::Integer))
            .constraint(PrimaryKeyConstraint::new(["n"]))
            .build(),
        "not in the primary key constraint",
    );
    argument_error(
        Table::new("t", &md)
            .column(Column::new("n", SqlType::Integer))
            .constraint(PrimaryKeyConstraint::new(["n"]))
            .constraint(PrimaryKeyConstraint::new(["n"]))
            .build(),
        "more than one primary key",
    );
    assert!(md.tables().is_empty(), "no failed build registered a table");
}

#[test]
fn primary_key_constraint_marks_its_columns() {
    let md = MetaData::new();
    let t = Table::new("t", &md)
        .column(Column::new("b", SqlType::Integer))
        .column(Column::new("a", SqlType::Integer))
        .constraint(PrimaryKeyConstraint::new(["a", "b"]).named("pk_t"))
        .build()
        .unwrap();
    let pk: Vec<&str> = t.primary_key().iter().map(|c| c.name()).collect();
    assert_eq!(pk, ["a", "b"], "key order, not column order");
    assert!(t.column("a").unwrap().is_primary_key());
    assert!(!t.column("b").unwrap().is_nullable());
    assert_eq!(
        t.primary_key_constraint().and_then(|pk| pk.name()),
        Some("pk_t")
    );
    assert_eq!(t.autoincrement_column(), None);
    let t = Table::new("nokey", &md)
        .column(Column::new("x", SqlType::Integer))
        .build()
        .unwrap();
    assert!(t.primary_key().is_empty() && t.primary_key_constraint().is_none());
}

#[test]
fn autoincrement_follows_sqlalchemy_auto_rules() {
    let md = MetaData::new();
    let auto = |name: &str, col: Column, extra: Option<ForeignKeyConstraint>| {
        let mut b = Table::new(name, &md).column(col);
        if let Some(fk) = extra {
            b = b.constraint(fk);
        }
        b.build()
            .unwrap()
            .autoincrement_column()
            .map(|c| c.name().to_owned())
    };
    assert_eq!(auto("a", id(), None).as_deref(), Some("id"));
    assert_eq!(auto("b", id().autoincrement(false), None), None);
    assert_eq!(auto("c", id().default(1), None), None);
    assert_eq!(auto("d", id().server_default(1), None), None);
    assert_eq!(auto("e", id().foreign_key("x.id"), None), None);
    assert_eq!(
        auto(
            "f",
            id(),
            Some(ForeignKeyConstraint::new(["id"], "x", ["id"]))
        ),
        None
    );
    assert_eq!(
        auto("g", id().foreign_key("x.id").autoincrement(true), None).as_deref(),
        Some("id")
    );
    assert_eq!(
        auto("h", Column::new("id", SqlType::Text).primary_key(), None),
        None
    );
    assert_eq!(
        auto(
            "i",
            Column::new("id", SqlType::SmallInteger).primary_key(),
            None
        )
        .as_deref(),
        Some("id")
    );
}

#[test]
fn constraints_are_ordered_by_kind() {
    let md = MetaData::new();
    let t = Table::new("t", &md)
        .constraint(ForeignKeyConstraint::new(["a"], "x", ["id"]).named("fk_table"))
        .constraint(CheckConstraint::new("a > 0").named("ck_a"))
        .constraint(UniqueConstraint::new(["b"]).named("uq_table"))
        .column(id())
        .column(
            Column::new("a", SqlType::Integer).foreign_key(ForeignKey::new("y.id").named("fk_col")),
        )
        .column(Column::new("b", SqlType::Integer).unique())
        .build()
        .unwrap();
    let kinds: Vec<String> = t
        .constraints()
        .iter()
        .map(|c| match c {
            Constraint::PrimaryKey(_) => "pk".to_owned(),
            Constraint::Unique(u) => format!("uq:{}", u.name().unwrap_or("-")),
            Constraint::Check(c) => format!("ck:{}", c.name().unwrap_or("-")),
            Constraint::ForeignKey(f) => format!("fk:{}", f.name().unwrap_or("-")),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "pk",
            "uq:-",
            "uq:uq_table",
            "ck:ck_a",
            "fk:fk_col",
            "fk:fk_table"
        ]
    );
    let ck = t.constraints().iter().find_map(|c| match c {
        Constraint::Check(c) => Some(c.sqltext().to_owned()),
        _ => None,
    });
    assert_eq!(ck.as_deref(), Some("a > 0"));
}

#[test]
fn column_accessors_read_back_the_settings() {
    let c = Column::new("c", SqlType::string(5))
        .not_null()
        .default("x")
        .server_default(ServerDefault::text("'y'"))
        .unique()
        .index()
        .autoincrement(false)
        .foreign_key(
            ForeignKey::to("t", "k")
                .referred_schema("s")
                .on_update(ReferentialAction::NoAction),
        )
        .comment("note");
    assert_eq!(c.name(), "c");
    assert!(!c.is_nullable() && c.is_unique() && c.is_indexed() && !c.is_primary_key());
    assert_eq!(c.get_default(), Some(&Value::from("x")));
    assert_eq!(c.get_server_default(), Some(&ServerDefault::text("'y'")));
    assert_eq!(c.get_autoincrement(), Some(false));
    assert_eq!(c.get_comment(), Some("note"));
    let fk = &c.foreign_keys()[0];
    assert_eq!(
        (
            fk.get_referred_schema(),
            fk.referred_table(),
            fk.referred_column()
        ),
        (Some("s"), "t", "k")
    );
    assert_eq!(fk.onupdate(), Some(ReferentialAction::NoAction));
    assert_eq!(c.enum_variants(), None);
}

#[test]
fn metadata_lookup_remove_and_clear() {
    let md = MetaData::new();
    let shared = md.clone();
    Table::new("t", &md).column(id()).build().unwrap();
    Table::new("t", &md)
        .schema("s")
        .column(id())
        .build()
        .unwrap();
    assert_eq!(shared.tables().len(), 2, "clones share the collection");
    assert!(shared.ptr_eq(&md));
    assert_eq!(md.table("s.t").unwrap().schema(), Some("s"));
    assert_eq!(md.table("t").unwrap().schema(), None);
    assert!(md.table("u").is_none());
    assert_eq!(
        md.remove("s.t").map(|t| t.key().to_owned()).as_deref(),
        Some("s.t")
    );
    assert!(md.remove("s.t").is_none());
    assert_eq!(md.tables().len(), 1);
    md.clear();
    assert!(shared.tables().is_empty());
    assert!(!MetaData::new().ptr_eq(&md));
}

#[test]
fn metadata_is_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MetaData>();
    send_sync::<Table>();
    send_sync::<TableAlias>();

    let md = MetaData::new();
    let results: Vec<Result<Table>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let md = md.clone();
                s.spawn(move || Table::new("race", &md).column(id()).build())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(md.tables().len(), 1);
}

/// Records what create_all / drop_all run; `existing` names the tables and types that exist.
struct Recorder {
    dialect: DialectRef,
    existing: HashSet<String>,
    checks: Vec<String>,
    executed: Vec<String>,
}

impl Recorder {
    fn new(dialect: DialectRef, existing: &[&str]) -> Self {
        Recorder {
            dialect,
            existing: existing.iter().map(|s| s.to_string()).collect(),
            checks: Vec::new(),
            executed: Vec::new(),
        }
    }
}

impl DdlExecutor for Recorder {
    fn dialect(&self) -> DialectRef {
        self.dialect.clone()
    }
    fn exists(&mut self, query: &Compiled) -> Result<bool> {
        let Some(Value::Text(name)) = query.params.first() else {
            panic!("unexpected existence query {query:?}")
        };
        self.checks.push(name.clone());
        Ok(self.existing.contains(name))
    }
    fn execute(&mut self, sql: &str) -> Result<()> {
        self.executed.push(sql.to_owned());
        Ok(())
    }
}

/// Two tables sharing an enum, a use_alter cycle, and an index; defined out of order.
fn library() -> MetaData {
    let md = MetaData::new();
    let mood = || SqlType::enumeration("mood", ["ok", "meh"]);
    Table::new("books", &md)
        .column(id())
        .column(Column::new("author_id", SqlType::Integer).foreign_key("authors.id"))
        .column(Column::new("mood", mood()))
        .build()
        .unwrap();
    Table::new("authors", &md)
        .column(id())
        .column(Column::new("mood", mood()).index())
        .column(
            Column::new("best", SqlType::Integer)
                .foreign_key(ForeignKey::new("books.id").use_alter().named("fk_best")),
        )
        .build()
        .unwrap();
    md
}

fn first_words(statements: &[String]) -> Vec<String> {
    statements
        .iter()
        .map(|s| {
            s.split(" (")
                .next()
                .unwrap_or(s)
                .lines()
                .next()
                .unwrap_or(s)
                .to_owned()
        })
        .collect()
}

#[test]
fn create_all_orders_types_tables_indexes_and_alters() {
    let md = library();
    let mut rec = Recorder::new(Arc::new(PostgresDialect), &[]);
    create_all(&md, &mut rec).unwrap();
    assert_eq!(
        first_words(&rec.executed),
        [
            r#"CREATE TYPE "mood" AS ENUM"#,
            r#"CREATE TABLE "authors""#,
            r#"CREATE INDEX "ix_authors_mood" ON "authors""#,
            r#"CREATE TABLE "books""#,
            r#"ALTER TABLE "authors" ADD CONSTRAINT "fk_best" FOREIGN KEY"#,
        ]
    );
    // Table, type (once), table: each looked for before creating it.
    assert_eq!(rec.checks, ["authors", "mood", "books"]);
}

#[test]
fn create_all_skips_what_exists() {
    let md = library();
    let mut rec = Recorder::new(Arc::new(PostgresDialect), &["mood", "authors"]);
    create_all(&md, &mut rec).unwrap();
    // authors exists: neither it, its index nor its use_alter key is touched; the type exists.
    assert_eq!(first_words(&rec.executed), [r#"CREATE TABLE "books""#]);

    let mut rec = Recorder::new(Arc::new(PostgresDialect), &["mood", "authors", "books"]);
    create_all(&md, &mut rec).unwrap();
    assert!(rec.executed.is_empty());
}

#[test]
fn create_tables_without_checkfirst_runs_everything_once() {
    let md = library();
    let mut rec = Recorder::new(Arc::new(PostgresDialect), &["mood", "authors", "books"]);
    create_tables(&md.tables(), &mut rec, false).unwrap();
    assert!(rec.checks.is_empty());
    assert_eq!(rec.executed.len(), 5);
    assert_eq!(
        rec.executed
            .iter()
            .filter(|s| s.starts_with("CREATE TYPE"))
            .count(),
        1
    );
}

#[test]
fn create_all_on_sqlite_keeps_use_alter_keys_inline() {
    let md = library();
    let mut rec = Recorder::new(Arc::new(SqliteDialect), &[]);
    create_all(&md, &mut rec).unwrap();
    assert_eq!(
        first_words(&rec.executed),
        [
            r#"CREATE TABLE "authors""#,
            r#"CREATE INDEX "ix_authors_mood" ON "authors""#,
            r#"CREATE TABLE "books""#,
        ]
    );
    assert!(rec.executed[0].contains(r#"CONSTRAINT "fk_best" FOREIGN KEY ("best")"#));
}

#[test]
fn drop_all_drops_alter_keys_then_tables_then_types() {
    let md = library();
    let mut rec = Recorder::new(Arc::new(PostgresDialect), &["mood", "authors", "books"]);
    drop_all(&md, &mut rec).unwrap();
    assert_eq!(
        rec.executed,
        [
            r#"ALTER TABLE "authors" DROP CONSTRAINT "fk_best""#,
            r#"DROP TABLE "books""#,
            r#"DROP TABLE "authors""#,
            r#"DROP TYPE "mood""#,
        ]
    );

    // Only what exists is dropped.
    let mut rec = Recorder::new(Arc::new(PostgresDialect), &["books"]);
    drop_all(&md, &mut rec).unwrap();
    assert_eq!(rec.executed, [r#"DROP TABLE "books""#]);
}

#[test]
fn create_all_reports_a_cycle_before_running_anything() {
    let md = MetaData::new();
    Table::new("a", &md)
        .column(id())
        .column(Column::new("b_id", SqlType::Integer).foreign_key("b.id"))
        .build()
        .unwrap();
    Table::new("b", &md)
        .column(id())
        .column(Column::new("a_id", SqlType::Integer).foreign_key("a.id"))
        .build()
        .unwrap();
    let mut rec = Recorder::new(Arc::new(SqliteDialect), &[]);
    let err = create_all(&md, &mut rec).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest(ref m) if m.contains("'a', 'b'")),
        "{err}"
    );
    assert!(rec.executed.is_empty() && rec.checks.is_empty());
}
