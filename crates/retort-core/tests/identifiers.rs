//! Quoting and injection: tables and columns with reserved words, quotes of every kind,
//! placeholder look-alikes and unicode in their names, created with the schema API and
//! written and read with the statement builders on every backend; and values shaped like
//! SQL injection, bound through `text()` and through expressions. A sentinel table in the
//! same database must come out untouched.

use retort_core::schema::{ddl, Column, DdlExecutor, MetaData, Table};
use retort_core::sql::{
    delete, func, insert, literal, select, star, table, text, update, Executable,
};
use retort_core::types::SqlType;
use retort_core::{Connection, Error, ErrorKind};
use retort_testkit::{for_each_backend, TestDb};

/// Names for tables and columns alike.
const NAMES: &[&str] = &[
    "user",
    "order",
    "group",
    "select",
    "my table",
    "q\"uote",
    "it's",
    "back`tick",
    "dot.ted",
    "per%cent",
    "what?",
    ":name",
    "$1",
    "ünïcödé 表",
    "a\"b`c'd.e%f?g:h$2 --",
];

/// Text shaped like an attack, for values.
const HOSTILE: &[&str] = &[
    "'; DROP TABLE sentinel; --",
    "\"; DROP TABLE sentinel; --",
    "`; DROP TABLE sentinel; --",
    "x' OR '1'='1",
    "\\'; DELETE FROM sentinel; --",
    ":name $1 ? %s {0}",
    "/* comment */ 1 -- and more",
];

/// A table of one row that every test checks afterwards.
fn sentinel(md: &MetaData) -> Table {
    Table::new("sentinel", md)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("note", SqlType::string(40)).not_null())
        .build()
        .unwrap()
}

fn fill_sentinel(conn: &mut Connection, sentinel: &Table) {
    conn.execute(&insert(sentinel).value("id", 1).value("note", "untouched"))
        .unwrap();
}

#[track_caller]
fn assert_sentinel(db: &TestDb, conn: &mut Connection, sentinel: &Table) {
    let rows: Vec<(i64, String)> = conn
        .execute(&select((sentinel.c("id"), sentinel.c("note"))))
        .unwrap_or_else(|e| panic!("{}: the sentinel table is gone: {e}", db.name()))
        .into_iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(rows, vec![(1, "untouched".to_owned())], "{}", db.name());
}

/// A table named `name` with an integer key and one text column per entry of [`NAMES`].
fn awkward_table(md: &MetaData, name: &str) -> Table {
    let mut builder =
        Table::new(name, md).column(Column::new("id", SqlType::Integer).primary_key());
    for (i, col) in NAMES.iter().enumerate() {
        let mut column = Column::new(*col, SqlType::string(60));
        // Derived index and constraint names carry the awkward names too.
        if i == 1 {
            column = column.index();
        }
        if i == 2 {
            column = column.unique();
        }
        builder = builder.column(column);
    }
    builder.build().unwrap()
}

/// The value row `id` holds in column `col`: recognisable, and itself full of quotes.
fn cell(id: i64, col: &str) -> String {
    format!("{id}:{col}")
}

#[test]
fn awkward_names_through_every_statement() {
    for_each_backend(|db| {
        let md = MetaData::new();
        let sentinel = sentinel(&md);
        let tables: Vec<Table> = NAMES.iter().map(|n| awkward_table(&md, n)).collect();
        md.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        fill_sentinel(&mut conn, &sentinel);
        let d = conn.dialect_ref();

        for t in &tables {
            let name = t.name();
            assert!(
                conn.exists(&ddl::has_table(t, &*d).unwrap()).unwrap(),
                "{}: table {name:?} was not created",
                db.name()
            );
            // One row, then two more at once.
            let one = NAMES.iter().fold(insert(t).value("id", 1), |ins, col| {
                ins.value(*col, cell(1, col))
            });
            conn.execute(&one).unwrap();
            let columns: Vec<&str> = std::iter::once("id").chain(NAMES.iter().copied()).collect();
            let rows: Vec<Vec<retort_core::sql::Expr>> = [2i64, 3]
                .iter()
                .map(|&id| {
                    std::iter::once(literal(id))
                        .chain(NAMES.iter().map(|col| literal(cell(id, col))))
                        .collect()
                })
                .collect();
            let n = conn
                .execute(&insert(t).values_many(columns.iter().copied(), rows))
                .unwrap()
                .rowcount();
            assert_eq!(n, 2, "{}: {name:?}", db.name());

            // Update and delete, each filtered on an awkward column.
            let n = conn
                .execute(
                    &update(t)
                        .set(NAMES[0], "updated")
                        .set(NAMES[5], t.c(NAMES[6]))
                        .where_(t.c(NAMES[4]).eq(cell(2, NAMES[4]))),
                )
                .unwrap()
                .rowcount();
            assert_eq!(n, 1, "{}: update {name:?}", db.name());
            let n = conn
                .execute(&delete(t).where_(t.c(NAMES[12]).eq(cell(3, NAMES[12]))))
                .unwrap()
                .rowcount();
            assert_eq!(n, 1, "{}: delete {name:?}", db.name());

            // Everything reads back unchanged, by column name.
            let result = conn
                .execute(&select(star()).from(t).order_by(t.c("id")))
                .unwrap();
            assert_eq!(result.columns(), columns.as_slice(), "{}", db.name());
            let got: Vec<Vec<String>> = result
                .into_iter()
                .map(|r| NAMES.iter().map(|c| r.get::<String>(*c).unwrap()).collect())
                .collect();
            let mut second: Vec<String> = NAMES.iter().map(|c| cell(2, c)).collect();
            second[0] = "updated".into();
            second[5] = cell(2, NAMES[6]);
            let first: Vec<String> = NAMES.iter().map(|c| cell(1, c)).collect();
            assert_eq!(got, vec![first, second], "{}: {name:?}", db.name());

            // The unique constraint with its derived name holds.
            let dup = insert(t).value("id", 9).value(NAMES[2], cell(1, NAMES[2]));
            let err = conn.execute(&dup).unwrap_err();
            assert_eq!(err.kind(), Some(ErrorKind::UniqueViolation), "{err:?}");
        }

        // Aliases and labels with awkward names come back as written.
        let t = &tables[5];
        let alias = t.alias("al\"i`as'");
        let q = select((
            alias.c(NAMES[7]).label("la\"b`e'l ?"),
            func::count_star().label("$1 :n"),
        ))
        .from(&alias)
        .where_(alias.c(NAMES[9]).like("1:%"))
        .group_by(alias.c(NAMES[7]));
        let result = conn.execute(&q).unwrap();
        assert_eq!(result.columns(), ["la\"b`e'l ?", "$1 :n"], "{}", db.name());
        let row = result.one().unwrap();
        assert_eq!(row.get::<String>("la\"b`e'l ?").unwrap(), cell(1, NAMES[7]));
        assert_eq!(row.get::<i64>("$1 :n").unwrap(), 1);
        // The display form (values written in) runs too: placeholder look-alikes inside
        // quoted names are not mistaken for placeholders.
        let shown = q.to_sql_string(conn.dialect()).unwrap();
        let again = conn.exec_driver_sql(&shown, &[]).unwrap().one().unwrap();
        assert_eq!(again.values(), row.values(), "{}: {shown}", db.name());

        // Lightweight table() clauses quote the same way.
        let clause = table(NAMES[10]);
        let n: i64 = conn
            .execute(&select(func::count(clause.c(NAMES[11]))).from(&clause))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 2);

        assert_sentinel(db, &mut conn, &sentinel);
        drop(conn);
        md.drop_all(db.engine()).unwrap();
    });
}

#[test]
fn identifiers_beyond_the_basic_multilingual_plane() {
    for_each_backend(|db| {
        let md = MetaData::new();
        let sentinel = sentinel(&md);
        sentinel.create(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        fill_sentinel(&mut conn, &sentinel);

        let emoji = Table::new("𝄞 notes 😀", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("😀", SqlType::Text))
            .build()
            .unwrap();
        let created = emoji.create(db.engine());
        if db.name() == "mysql" {
            // MySQL and MariaDB store identifiers as utf8mb3: retort refuses the name before
            // the server sees it (which would fail with a collation mix or "invalid utf8mb4
            // character string").
            let err = created.unwrap_err();
            let Error::Compile(message) = &err else {
                panic!("expected a CompileError, got {err:?}")
            };
            assert!(
                message.contains("𝄞 notes 😀") && message.contains("Basic Multilingual Plane"),
                "{message}"
            );
            // A column name is checked as well.
            let column = Table::new("bmp_table", &md)
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("note 😀", SqlType::Text))
                .build()
                .unwrap();
            let err = column.create(db.engine()).unwrap_err();
            assert!(
                matches!(&err, Error::Compile(m) if m.contains("column name 'note 😀'")),
                "{err:?}"
            );
        } else {
            created.unwrap();
            conn.execute(&insert(&emoji).value("id", 1).value("😀", "𝄞"))
                .unwrap();
            let back: String = conn
                .execute(&select(emoji.c("😀")).where_(emoji.c("id").eq(1)))
                .unwrap()
                .scalar()
                .unwrap();
            assert_eq!(back, "𝄞");
        }
        assert_sentinel(db, &mut conn, &sentinel);
    });
}

#[test]
fn hostile_values_are_only_data() {
    for_each_backend(|db| {
        let md = MetaData::new();
        let sentinel = sentinel(&md);
        let notes = Table::new("notes", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("body", SqlType::Text))
            .build()
            .unwrap();
        md.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        fill_sentinel(&mut conn, &sentinel);

        // Through expression parameters: inserted, matched exactly, never executed.
        // Keys from 1: MySQL takes an explicit 0 in an AUTO_INCREMENT column as "generate".
        for (i, v) in HOSTILE.iter().enumerate() {
            conn.execute(&insert(&notes).value("id", i as i64 + 1).value("body", *v))
                .unwrap();
        }
        for (i, v) in HOSTILE.iter().enumerate() {
            let ids: Vec<i64> = conn
                .execute(&select(notes.c("id")).where_(notes.c("body").eq(*v)))
                .unwrap()
                .scalars()
                .unwrap();
            assert_eq!(ids, vec![i as i64 + 1], "{}: {v:?}", db.name());
        }
        // LIKE wildcards inside a contains() value are literal.
        let n = conn
            .execute(&select(notes.c("id")).where_(notes.c("body").contains("%s {0")))
            .unwrap()
            .all()
            .len();
        assert_eq!(n, 1, "{}", db.name());
        let n = conn
            .execute(&select(notes.c("id")).where_(notes.c("body").contains("'1'='")))
            .unwrap()
            .all()
            .len();
        assert_eq!(n, 1, "{}", db.name());
        // An always-true injection finds nothing when bound.
        let n = conn
            .execute(&select(notes.c("id")).where_(notes.c("body").eq("x' OR '1'='1' --")))
            .unwrap()
            .all()
            .len();
        assert_eq!(n, 0, "{}", db.name());

        // Through text() binds, with look-alikes of binds in quotes and comments around them.
        let q = |dialect_quote: char| {
            let ident = |s: &str| format!("{dialect_quote}{s}{dialect_quote}");
            format!(
                "SELECT id, ':skip' AS {} FROM notes /* :nor_this */ WHERE body = :body -- :nor_that\n",
                ident(":not_a_param")
            )
        };
        let quote = if db.name() == "mysql" { '`' } else { '"' };
        for (i, v) in HOSTILE.iter().enumerate() {
            let row = conn
                .execute(&text(q(quote)).bind("body", *v))
                .unwrap()
                .one()
                .unwrap_or_else(|e| panic!("{}: {v:?}: {e}", db.name()));
            assert_eq!(row.get::<i64>("id").unwrap(), i as i64 + 1);
            assert_eq!(row.get::<String>(":not_a_param").unwrap(), ":skip");
        }
        let none = conn
            .execute(&text("SELECT id FROM notes WHERE body = :b").bind("b", "' OR 1=1 --"))
            .unwrap();
        assert!(none.rows().is_empty(), "{}", db.name());
        // A text() statement whose bound value is a whole statement runs none of it.
        conn.execute(
            &text("UPDATE notes SET body = :b WHERE id = :id")
                .bind("b", "x'; DROP TABLE sentinel; --")
                .bind("id", 1),
        )
        .unwrap();
        let body: String = conn
            .execute(&select(notes.c("body")).where_(notes.c("id").eq(1)))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(body, "x'; DROP TABLE sentinel; --");

        assert_sentinel(db, &mut conn, &sentinel);
    });
}
