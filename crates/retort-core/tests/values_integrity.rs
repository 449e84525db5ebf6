//! Values a backend cannot store exactly are refused with a typed error before anything is
//! sent, never stored as another value; and the errors say what went wrong, where.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use retort_core::value::{FromValue, ToValue};
use retort_core::{Connection, Error, ErrorKind, Row, Value};
use retort_testkit::{for_each_backend, TestDb};

fn table(db: &TestDb) -> Connection {
    let ddl = match db.name() {
        "sqlite" => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, f4 REAL,
             d DATE, tm TIME, dt TIMESTAMP, num NUMERIC(20, 0), t TEXT, bin BLOB)"
        }
        "postgresql" => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, f4 REAL,
             d DATE, tm TIME, dt TIMESTAMP, num NUMERIC(20, 0), t TEXT, bin BYTEA)"
        }
        _ => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE, f4 FLOAT,
             d DATE, tm TIME(6), dt DATETIME(6), num DECIMAL(20, 0), t LONGTEXT, bin LONGBLOB)"
        }
    };
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(ddl, &[]).unwrap();
    conn
}

/// Inserts `value` into `column` and reads it back; `Err` when the insert was refused, in
/// which case no row may have been written.
fn write_read(
    db: &TestDb,
    conn: &mut Connection,
    column: &str,
    value: Value,
) -> Result<Value, Error> {
    conn.exec_driver_sql("DELETE FROM v", &[]).unwrap();
    let inserted = conn.exec_driver_sql(
        &db.sql(&format!("INSERT INTO v (id, {column}) VALUES (1, ?)")),
        &[value],
    );
    let rows: i64 = conn
        .exec_driver_sql("SELECT count(*) FROM v", &[])
        .unwrap()
        .scalar()
        .unwrap();
    match inserted {
        Err(e) => {
            assert_eq!(rows, 0, "{}: a refused value left a row", db.name());
            Err(e)
        }
        Ok(_) => Ok(conn
            .exec_driver_sql(&format!("SELECT {column} FROM v WHERE id = 1"), &[])
            .unwrap()
            .one()
            .unwrap()
            .into_values()
            .remove(0)),
    }
}

fn assert_data_error(db: &TestDb, err: &Error, kinds: &[ErrorKind], what: &str) {
    assert!(
        matches!(err, Error::Data(_)) && kinds.contains(&err.kind().unwrap()),
        "{}: {what}: expected a data error of kind {kinds:?}, got {err:?}",
        db.name()
    );
}

#[test]
fn dates_outside_mariadb_range_are_refused_not_stored_as_other_dates() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = table(&db);
    let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    for date in [
        ymd(-100, 1, 1),
        ymd(10000, 1, 1),
        ymd(999, 12, 31),
        ymd(0, 1, 1),
        NaiveDate::MAX,
        NaiveDate::MIN,
    ] {
        let err = write_read(&db, &mut conn, "d", date.to_value()).unwrap_err();
        assert_data_error(&db, &err, &[ErrorKind::OutOfRange], &format!("{date}"));
        assert!(err.to_string().contains("1000"), "{err}");
        let err = write_read(&db, &mut conn, "dt", date.and_time(noon).to_value()).unwrap_err();
        assert_data_error(&db, &err, &[ErrorKind::OutOfRange], &format!("{date}"));
        let err = write_read(
            &db,
            &mut conn,
            "dt",
            date.and_time(noon).and_utc().to_value(),
        )
        .unwrap_err();
        assert_data_error(&db, &err, &[ErrorKind::OutOfRange], &format!("{date}"));
    }
    // The edges of the supported range are stored exactly.
    for date in [ymd(1000, 1, 1), ymd(9999, 12, 31)] {
        let back = write_read(&db, &mut conn, "d", date.to_value()).unwrap();
        assert_eq!(NaiveDate::from_value(back).unwrap(), date);
        let dt = date.and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        let back = write_read(&db, &mut conn, "dt", dt.to_value()).unwrap();
        assert_eq!(NaiveDateTime::from_value(back).unwrap(), dt);
    }
}

#[test]
fn leap_seconds_are_stored_exactly_or_refused() {
    for_each_backend(|db| {
        let mut conn = table(db);
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        let dt = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_time(leap);
        match write_read(db, &mut conn, "tm", leap.to_value()) {
            Ok(v) => assert_eq!(NaiveTime::from_value(v).unwrap(), leap, "{}", db.name()),
            Err(e) => assert_data_error(db, &e, &[ErrorKind::InvalidValue], "leap time"),
        }
        match write_read(db, &mut conn, "dt", dt.to_value()) {
            Ok(v) => assert_eq!(NaiveDateTime::from_value(v).unwrap(), dt, "{}", db.name()),
            Err(e) => assert_data_error(db, &e, &[ErrorKind::InvalidValue], "leap datetime"),
        }
        // An ordinary time with microseconds is kept on every backend.
        let t = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        let back = NaiveTime::from_value(write_read(db, &mut conn, "tm", t.to_value()).unwrap());
        assert_eq!(back.unwrap(), t);
        assert_eq!(t.nanosecond(), 999_999_000);
    });
}

#[test]
fn nan_and_infinity_are_stored_exactly_or_refused() {
    for_each_backend(|db| {
        let mut conn = table(db);
        for (column, x) in [
            ("f", f64::NAN),
            ("f", f64::INFINITY),
            ("f", f64::NEG_INFINITY),
            ("f4", f64::NAN),
            ("f4", f64::INFINITY),
        ] {
            match write_read(db, &mut conn, column, Value::Float(x)) {
                Ok(Value::Float(y)) => assert!(
                    (x.is_nan() && y.is_nan()) || x == y,
                    "{}: {column} {x} came back as {y}",
                    db.name()
                ),
                Ok(other) => panic!("{}: {column} {x} came back as {other:?}", db.name()),
                Err(e) => assert_data_error(
                    db,
                    &e,
                    &[ErrorKind::InvalidValue, ErrorKind::OutOfRange],
                    &format!("{column} {x}"),
                ),
            }
        }
        // NaN is refused where it cannot be stored; PostgreSQL keeps it.
        let nan = write_read(db, &mut conn, "f", Value::Float(f64::NAN));
        assert_eq!(
            nan.is_ok(),
            db.name() == "postgresql",
            "{}: {nan:?}",
            db.name()
        );
    });
}

#[test]
fn floats_too_large_for_a_single_precision_column_are_refused() {
    for_each_backend(|db| {
        let mut conn = table(db);
        match write_read(db, &mut conn, "f4", Value::Float(1e300)) {
            // SQLite's REAL is a double: stored exactly.
            Ok(v) => assert_eq!(v, Value::Float(1e300), "{}", db.name()),
            Err(e) => assert_data_error(db, &e, &[ErrorKind::OutOfRange], "1e300 in REAL"),
        }
        assert_eq!(
            write_read(db, &mut conn, "f4", Value::Float(1e300)).is_ok(),
            db.name() == "sqlite"
        );
    });
}

#[test]
fn u64_above_i64_max_is_stored_exactly_or_refused() {
    for_each_backend(|db| {
        let mut conn = table(db);
        let big = i64::MAX as u64 + 1;
        // A signed BIGINT cannot hold it anywhere.
        for n in [big, u64::MAX] {
            let err = write_read(db, &mut conn, "i", n.to_value()).unwrap_err();
            assert_data_error(
                db,
                &err,
                &[ErrorKind::OutOfRange],
                &format!("{n} in BIGINT"),
            );
        }
        // A NUMERIC(20, 0) holds it where the database has exact decimals; SQLite would make
        // it a REAL.
        for n in [big, u64::MAX] {
            match write_read(db, &mut conn, "num", n.to_value()) {
                Ok(v) => {
                    assert_ne!(db.name(), "sqlite");
                    assert_eq!(u64::from_value(v).unwrap(), n, "{}", db.name());
                }
                Err(e) => {
                    assert_eq!(db.name(), "sqlite", "{e}");
                    assert_data_error(db, &e, &[ErrorKind::OutOfRange], "u64 in NUMERIC");
                }
            }
        }
        // u64 values within i64 are plain integers everywhere.
        let back = write_read(db, &mut conn, "i", (i64::MAX as u64).to_value()).unwrap();
        assert_eq!(u64::from_value(back).unwrap(), i64::MAX as u64);
    });
}

#[test]
fn conversions_to_narrower_rust_types_refuse_rather_than_alter() {
    // 1e300 is no f32; it must not become infinity.
    let err = f32::from_value(Value::Float(1e300)).unwrap_err();
    assert!(
        matches!(err, Error::Conversion(ref m) if m.contains("f32")),
        "{err:?}"
    );
    assert!(f32::from_value(Value::Float(-1e300)).is_err());
    // Nor may a tiny non-zero double become zero.
    assert!(f32::from_value(Value::Float(1e-300)).is_err());
    // What f32 can hold reads exactly, infinities and NaN included.
    for x in [
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        -0.0,
        0.1,
        f32::INFINITY,
    ] {
        assert_eq!(
            f32::from_value(x.to_value()).unwrap().to_bits(),
            x.to_bits()
        );
    }
    assert!(f32::from_value(Value::Float(f64::NAN)).unwrap().is_nan());
    // An integer that a double cannot hold exactly is refused, not rounded.
    let err = f64::from_value(Value::Int(i64::MAX)).unwrap_err();
    assert!(matches!(err, Error::Conversion(_)), "{err:?}");
    assert_eq!(
        f64::from_value(Value::Int(1 << 53)).unwrap(),
        9007199254740992.0
    );
    assert_eq!(
        f64::from_value(Value::Int(i64::MIN)).unwrap(),
        -9223372036854775808.0
    );
    // u64 reads from every form a big unsigned value arrives in.
    assert_eq!(u64::from_value(u64::MAX.to_value()).unwrap(), u64::MAX);
    assert_eq!(
        u64::from_value(Value::Text(u64::MAX.to_string())).unwrap(),
        u64::MAX
    );
    // A decimal with more digits than rust_decimal keeps is refused, not rounded.
    let err = rust_decimal::Decimal::from_value(Value::Text(
        "0.123456789012345678901234567890123".into(),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Conversion(_)), "{err:?}");
    assert_eq!(
        rust_decimal::Decimal::from_value(Value::Text(
            "1.500000000000000000000000000000000".into()
        ))
        .unwrap(),
        rust_decimal::Decimal::new(15, 1)
    );
}

#[test]
fn decimals_beyond_rust_decimal_read_as_exact_text() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let mut conn = db.engine().connect().unwrap();
        let exact = "0.123456789012345678901234567891";
        let sql = match db.name() {
            "postgresql" => format!("SELECT CAST('{exact}' AS NUMERIC(40, 30))"),
            _ => format!("SELECT CAST('{exact}' AS DECIMAL(40, 30))"),
        };
        let v: Value = conn.exec_driver_sql(&sql, &[]).unwrap().scalar().unwrap();
        assert_eq!(v, Value::Text(exact.into()), "{}", db.name());
        assert!(rust_decimal::Decimal::from_value(v.clone()).is_err());
        assert_eq!(String::from_value(v).unwrap(), exact);
        // Trailing zeros past rust_decimal's 28 places lose nothing: the decimal reads.
        let sql = sql.replace(exact, "2.5");
        let v: rust_decimal::Decimal = conn.exec_driver_sql(&sql, &[]).unwrap().scalar().unwrap();
        assert_eq!(v, rust_decimal::Decimal::new(25, 1), "{}", db.name());
    });
}

#[test]
fn postgres_time_24_00_is_not_read_as_midnight() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    let v: Value = conn
        .exec_driver_sql("SELECT CAST('24:00:00' AS TIME)", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(v, Value::Text("24:00:00".into()));
    assert!(NaiveTime::from_value(v).is_err());
}

#[test]
fn mysql_bit64_reads_without_turning_negative() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql("CREATE TABLE b (id INTEGER PRIMARY KEY, bits BIT(64))", &[])
        .unwrap();
    conn.exec_driver_sql("INSERT INTO b VALUES (1, b'1000000000000000000000000000000000000000000000000000000000000001')", &[])
        .unwrap();
    for sql in [
        "SELECT bits FROM b WHERE id = 1",
        "SELECT bits FROM b WHERE id = ?",
    ] {
        let params = if sql.contains('?') {
            vec![Value::Int(1)]
        } else {
            vec![]
        };
        let bits: u64 = conn
            .exec_driver_sql(sql, &params)
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(bits, (1 << 63) | 1);
        assert!(conn
            .exec_driver_sql(sql, &params)
            .unwrap()
            .scalar::<i64>()
            .is_err());
    }
}

#[test]
fn row_new_checks_its_values_against_its_columns() {
    let columns: Arc<[String]> = vec!["a".to_owned(), "b".to_owned()].into();
    let err = Row::new(columns.clone(), vec![Value::Int(1)]).unwrap_err();
    assert!(
        matches!(err, Error::Argument(ref m) if m.contains('2') && m.contains('1')),
        "{err:?}"
    );
    assert!(Row::new(columns.clone(), vec![Value::Int(1); 3]).is_err());
    let row = Row::new(columns, vec![Value::Int(1), Value::Null]).unwrap();
    assert_eq!(row.get::<Option<i64>>("b").unwrap(), None);
    assert!(matches!(row.get::<i64>(2), Err(Error::Argument(_))));
}

#[test]
fn conversion_errors_name_the_column_its_position_and_the_rust_type() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let row = conn
            .exec_driver_sql("SELECT 1 AS id, 'old' AS age", &[])
            .unwrap()
            .one()
            .unwrap();
        let err = row.get::<i32>("age").unwrap_err();
        let Error::Conversion(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("'age'"), "{msg}");
        assert!(msg.contains("index 1"), "{msg}");
        assert!(msg.contains("i32"), "{msg}");
        assert!(msg.contains("old"), "{msg}");
        let err = row.get::<Option<NaiveDate>>(1).unwrap_err();
        assert!(err.to_string().contains("Option<NaiveDate>"), "{err}");
        // Tuples name the column too.
        let row = conn
            .exec_driver_sql("SELECT 1 AS id, 'old' AS age", &[])
            .unwrap()
            .one()
            .unwrap();
        let err = row.into_tuple::<(i64, i64)>().unwrap_err();
        assert!(err.to_string().contains("'age'"), "{err}");
    });
}

#[test]
fn parameter_counts_over_the_driver_limit_are_refused_before_sending() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let n = 70_000;
        let mut sql = String::from("SELECT 1 WHERE 1 IN (");
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
        let sql = db.sql(&sql);
        let params = vec![Value::Int(1); n];
        let err = conn.exec_driver_sql(&sql, &params).unwrap_err();
        assert!(
            matches!(&err, Error::Argument(m) if m.contains("70000")),
            "{}: {err:?}",
            db.name()
        );
        // The connection is still usable.
        let one: i64 = conn
            .exec_driver_sql("SELECT 1", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(one, 1);
        let err = conn.stream_driver_sql(&sql, &params).unwrap_err();
        assert!(matches!(&err, Error::Argument(_)), "{}: {err:?}", db.name());
        let one: i64 = conn
            .exec_driver_sql("SELECT 1", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(one, 1);
    });
}

#[test]
fn mariadb_placeholder_and_charset_errors_are_classified() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    // 1390: too many placeholders, found by the server when preparing.
    let mut sql = String::from("SELECT 1 WHERE 1 IN (");
    sql.push_str(&vec!["?"; 70_000].join(","));
    sql.push(')');
    let err = conn
        .execute_many(sql.as_str(), [vec![Value::Int(1)]])
        .unwrap_err();
    assert!(matches!(err, Error::Programming(_)), "{err:?}");
    assert_eq!(err.database_error().unwrap().code(), Some("1390"));
    // 1300: bytes that are not valid in the named character set.
    let err = conn
        .exec_driver_sql("SELECT _utf8mb4 x'ff'", &[])
        .unwrap_err();
    assert!(matches!(err, Error::Data(_)), "{err:?}");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidValue));
    assert_eq!(err.database_error().unwrap().code(), Some("1300"));
    let one: i64 = conn
        .exec_driver_sql("SELECT 1", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(one, 1);
}

#[test]
fn mariadb_values_over_max_allowed_packet_are_data_errors() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = table(&db);
    let max: i64 = conn
        .exec_driver_sql("SELECT @@max_allowed_packet", &[])
        .unwrap()
        .scalar()
        .unwrap();
    let big = vec![b'x'; usize::try_from(max).unwrap() + 1];
    for column in ["bin", "t"] {
        let value = if column == "bin" {
            Value::Bytes(big.clone())
        } else {
            Value::Text(String::from_utf8(big.clone()).unwrap())
        };
        let err = write_read(&db, &mut conn, column, value).unwrap_err();
        assert_data_error(&db, &err, &[ErrorKind::TooLong], column);
        assert!(err.to_string().contains("max_allowed_packet"), "{err}");
    }
    // The same connection goes on working.
    let one: i64 = conn
        .exec_driver_sql("SELECT 1", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(one, 1);
}

#[test]
fn database_errors_keep_the_driver_error_as_source() {
    for_each_backend(|db| {
        let mut conn = table(db);
        conn.exec_driver_sql("INSERT INTO v (id) VALUES (1)", &[])
            .unwrap();
        let err = conn
            .exec_driver_sql("INSERT INTO v (id) VALUES (1)", &[])
            .unwrap_err();
        let source = StdError::source(&err).expect("a source");
        let dbe = err.database_error().unwrap();
        let inner = StdError::source(dbe).expect("a source");
        for s in [source, inner] {
            let found = match db.name() {
                "sqlite" => s.downcast_ref::<rusqlite::Error>().is_some(),
                "postgresql" => s.downcast_ref::<postgres::Error>().is_some(),
                _ => s.downcast_ref::<mysql::Error>().is_some(),
            };
            assert!(found, "{}: source is {s:?}", db.name());
        }
        // Clones share it.
        assert!(StdError::source(&dbe.clone()).is_some());
    });
}

#[test]
fn postgres_errors_keep_detail_hint_and_position() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let mut conn = table(&db);
    conn.exec_driver_sql("INSERT INTO v (id) VALUES (1)", &[])
        .unwrap();
    let err = conn
        .exec_driver_sql("INSERT INTO v (id) VALUES (1)", &[])
        .unwrap_err();
    let dbe = err.database_error().unwrap();
    assert_eq!(dbe.detail(), Some("Key (id)=(1) already exists."));
    assert!(
        err.to_string()
            .contains("DETAIL: Key (id)=(1) already exists."),
        "{err}"
    );

    let err = conn.exec_driver_sql("SELECT lower(1)", &[]).unwrap_err();
    let dbe = err.database_error().unwrap();
    assert!(
        dbe.hint().is_some_and(|h| h.contains("type casts")),
        "{dbe:?}"
    );
    assert_eq!(dbe.position(), Some(8));
    let shown = err.to_string();
    assert!(shown.contains("HINT: "), "{shown}");
    assert!(shown.contains("position 8"), "{shown}");
}

/// Collects the text of the events sent to it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn hide_parameters_keeps_values_out_of_errors_and_logs() {
    for_each_backend(|db| {
        let secret = "hunter2-secret";
        let engine = db
            .builder()
            .echo(true)
            .hide_parameters(true)
            .build()
            .unwrap();
        assert!(engine.options().hide_parameters);
        let capture = Capture::default();
        let err = tracing::subscriber::with_default(capture.clone(), || {
            let mut conn = engine.connect().unwrap();
            conn.exec_driver_sql("CREATE TABLE s (id INTEGER PRIMARY KEY, pw TEXT)", &[])
                .unwrap();
            let insert = db.sql("INSERT INTO s (id, pw) VALUES (?, ?)");
            conn.exec_driver_sql(&insert, &[Value::Int(1), secret.into()])
                .unwrap();
            conn.exec_driver_sql(&insert, &[Value::Int(1), secret.into()])
                .unwrap_err()
        });
        let dbe = err.database_error().unwrap();
        assert_eq!(dbe.params(), None);
        assert!(dbe.sql().is_some());
        let shown = err.to_string();
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("hidden"), "{shown}");
        let logged = capture.0.lock().unwrap().clone();
        assert!(logged.contains("INSERT INTO s"), "{logged}");
        assert!(!logged.contains(secret), "{logged}");

        // Without the option both show them.
        let engine = db.builder().echo(true).build().unwrap();
        let capture = Capture::default();
        let err = tracing::subscriber::with_default(capture.clone(), || {
            let mut conn = engine.connect().unwrap();
            let insert = db.sql("INSERT INTO s (id, pw) VALUES (?, ?)");
            conn.exec_driver_sql(&insert, &[Value::Int(1), secret.into()])
                .unwrap_err()
        });
        assert!(err.to_string().contains(secret));
        assert!(capture.0.lock().unwrap().contains(secret));
    });
}

#[test]
fn sqlite_parameter_limit_is_the_one_the_dialect_declares() {
    let db = retort_testkit::sqlite();
    let mut conn = db.engine().connect().unwrap();
    let max = db.engine().dialect().capabilities().max_params;
    let placeholders = |n: usize| {
        format!(
            "SELECT count(*) FROM (SELECT 1 WHERE 1 IN ({}))",
            vec!["?"; n].join(",")
        )
    };
    // Exactly the declared limit runs.
    let n: i64 = conn
        .exec_driver_sql(&placeholders(max), &vec![Value::Int(1); max])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(n, 1);
    // One more is refused before SQLite sees it.
    let err = conn
        .exec_driver_sql(&placeholders(max + 1), &vec![Value::Int(1); max + 1])
        .unwrap_err();
    assert!(
        matches!(&err, Error::Argument(m) if m.contains(&max.to_string())),
        "{err:?}"
    );
}

#[test]
fn prepared_statements_over_the_parameter_limit_fail_cleanly() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let mut sql = String::from("SELECT 1 WHERE 1 IN (");
        sql.push_str(&vec!["?"; 70_000].join(","));
        sql.push(')');
        let sql = db.sql(&sql);
        let err = conn
            .execute_many(sql.as_str(), [vec![Value::Int(1); 70_000]])
            .unwrap_err();
        assert!(
            matches!(err, Error::Argument(_) | Error::Programming(_)),
            "{}: {err:?}",
            db.name()
        );
        let one: i64 = conn
            .exec_driver_sql("SELECT 1", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(one, 1);
    });
}
