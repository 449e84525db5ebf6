//! Property tests for the two places where text becomes SQL: identifier quoting and the
//! literal renderer (the display / offline path). Any string must quote into an identifier
//! that names exactly that string — a table and a column made with it work on every backend,
//! or fail with a typed error — and any value rendered as a literal must read back, executed
//! on the real database, as exactly the value it was, or be refused with a typed error.
//!
//! Case counts are kept modest (the live ones run DDL per case).

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::{insert, literal, select, Executable};
use retort_core::types::SqlType;
use retort_core::value::{FromValue, ToValue};
use retort_core::{Connection, Error};
use retort_testkit::{for_each_backend, TestDb};

/// Names and text made of the characters that matter to quoting, mixed with any others.
fn awkward_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[\"`'\\\\ %?:$;.a-zA-Zé表\u{1F600}\u{0}-]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// Undoes `push_quoted`: the text between the quotes with doubled quotes made single, or
/// `None` if `quoted` is not a well-formed quoted identifier.
fn unquote(quoted: &str, q: char) -> Option<String> {
    let inner = quoted.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == q && chars.next() != Some(q) {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn any_identifier_quotes_to_exactly_itself(name in awkward_text()) {
        let dialects: [(&dyn Dialect, char); 3] = [
            (&SqliteDialect, '"'),
            (&PostgresDialect, '"'),
            (&MySqlDialect { mariadb: true }, '`'),
        ];
        for (d, q) in dialects {
            let mut out = String::new();
            d.quote_identifier(&name, &mut out);
            prop_assert_eq!(unquote(&out, q), Some(name.clone()));
        }
    }
}

/// A runner with a fixed seed: the same cases on every run, so that a failure reproduces and
/// the count of names a database accepts (asserted below) does not vary from run to run.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// Creates a table and a column named by `table` and `column`, writes a row and reads it back.
fn round_trip_names(db: &TestDb, table: &str, column: &str) -> Result<String, Error> {
    let md = MetaData::new();
    let t = Table::new(table, &md)
        .column(Column::new(column, SqlType::string(20)))
        .build()?;
    md.create_all(db.engine())?;
    let result = (|| {
        let mut conn = db.engine().connect()?;
        conn.execute(&insert(&t).value(column, "stored"))?;
        conn.execute(&select(t.c(column)))?.scalar::<String>()
    })();
    md.drop_all(db.engine())?;
    result
}

#[test]
fn any_table_and_column_name_works_or_errors_cleanly() {
    for_each_backend(|db| {
        let accepted = std::cell::Cell::new(0);
        runner(40)
            .run(&(awkward_text(), awkward_text()), |(table, column)| {
                // A name the database refuses is fine (empty, NUL, too long, ...), as long as
                // it is refused with an error rather than taken for another name.
                let created = {
                    let md = MetaData::new();
                    Table::new(table.as_str(), &md)
                        .column(Column::new(column.as_str(), SqlType::string(20)))
                        .build()
                        .and_then(|_| md.create_all(db.engine()))
                        .and_then(|_| md.drop_all(db.engine()))
                };
                if let Err(e) = created {
                    // A name with NUL never reaches a database.
                    if table.contains('\0') || column.contains('\0') {
                        prop_assert!(e.database_error().is_none(), "{}", e);
                    }
                    return Ok(());
                }
                let read = round_trip_names(db, &table, &column)
                    .map_err(|e| TestCaseError::fail(format!("{}: {e}", db.name())))?;
                prop_assert_eq!(read, "stored");
                accepted.set(accepted.get() + 1);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
        // Many generated names are acceptable everywhere: the property was exercised.
        let accepted = accepted.get();
        assert!(
            accepted >= 5,
            "{}: only {accepted} names accepted",
            db.name()
        );
    });
}

/// Renders `value` as a literal for the connection's dialect, runs the result and reads the
/// value back as a `T`.
fn literal_round_trip<T>(conn: &mut Connection, value: T) -> Result<(), TestCaseError>
where
    T: ToValue + FromValue + PartialEq + std::fmt::Debug,
{
    let dialect = conn.dialect_ref();
    let q = select(literal(value.to_value()).label("v"));
    let sql = match q.to_sql_string(&*dialect) {
        Ok(sql) => sql,
        // Refused with a typed error: NUL in text, a float without a literal form.
        Err(Error::Argument(_)) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
    };
    let read = conn
        .exec_driver_sql(&sql, &[])
        .and_then(|r| r.scalar::<T>())
        .map_err(|e| TestCaseError::fail(format!("{sql}: {e}")))?;
    prop_assert_eq!(&read, &value, "{}", sql);
    Ok(())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1000i32..=9999, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default())
}

fn datetime() -> impl Strategy<Value = NaiveDateTime> {
    // Microseconds: what every backend keeps.
    (date(), 0u32..86_400, 0u32..1_000_000).prop_map(|(d, secs, micros)| {
        d.and_hms_micro_opt(secs / 3600, secs / 60 % 60, secs % 60, micros)
            .unwrap_or_default()
    })
}

#[test]
fn literals_read_back_as_the_values_they_render() {
    for_each_backend(|db| {
        // The runner takes `Fn` closures; the connection is borrowed mutably per case.
        let conn = std::cell::RefCell::new(db.engine().connect().unwrap());
        let name = db.name();
        runner(64)
            .run(&awkward_text(), |s| {
                literal_round_trip(&mut conn.borrow_mut(), s)
            })
            .unwrap_or_else(|e| panic!("{name}, text: {e}"));
        runner(64)
            .run(
                &prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(0)],
                |i| literal_round_trip(&mut conn.borrow_mut(), i),
            )
            .unwrap_or_else(|e| panic!("{name}, integers: {e}"));
        runner(64)
            .run(
                &prop_oneof![
                    any::<f64>(),
                    -1e6f64..1e6,
                    Just(f64::MAX),
                    Just(f64::MIN_POSITIVE),
                    Just(0.1 + 0.2),
                ],
                |x| literal_round_trip(&mut conn.borrow_mut(), x),
            )
            .unwrap_or_else(|e| panic!("{name}, floats: {e}"));
        runner(32)
            .run(&proptest::collection::vec(any::<u8>(), 0..40), |b| {
                literal_round_trip(&mut conn.borrow_mut(), b)
            })
            .unwrap_or_else(|e| panic!("{name}, bytes: {e}"));
        runner(16)
            .run(&any::<bool>(), |b| {
                literal_round_trip(&mut conn.borrow_mut(), b)
            })
            .unwrap_or_else(|e| panic!("{name}, booleans: {e}"));
        runner(32)
            .run(&date(), |d| literal_round_trip(&mut conn.borrow_mut(), d))
            .unwrap_or_else(|e| panic!("{name}, dates: {e}"));
        runner(32)
            .run(&datetime(), |t| {
                literal_round_trip(&mut conn.borrow_mut(), t)
            })
            .unwrap_or_else(|e| panic!("{name}, date-times: {e}"));
    });
}
