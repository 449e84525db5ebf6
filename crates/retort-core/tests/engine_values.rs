//! Values bound and read back on every backend, through hand-written tables of each database's
//! own column types.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use retort_core::value::FromValue;
use retort_core::{Connection, Error, ErrorKind, Value};
use retort_testkit::{for_each_backend, TestDb};
use rust_decimal::Decimal;
use std::str::FromStr;
use uuid::Uuid;

fn create(db: &TestDb) -> Connection {
    let ddl = match db.name() {
        "sqlite" => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, f4 REAL,
             b BOOLEAN, t TEXT, bin BLOB, d DATE, tm TIME, dt TIMESTAMP, dtz TIMESTAMP,
             j TEXT, u TEXT, num NUMERIC(30, 10))"
        }
        "postgresql" => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, f4 REAL,
             b BOOLEAN, t TEXT, bin BYTEA, d DATE, tm TIME, dt TIMESTAMP, dtz TIMESTAMPTZ,
             j JSONB, u UUID, num NUMERIC(30, 10))"
        }
        _ => {
            "CREATE TABLE v (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE, f4 FLOAT,
             b BOOLEAN, t LONGTEXT, bin LONGBLOB, d DATE, tm TIME(6), dt DATETIME(6),
             dtz DATETIME(6), j JSON, u CHAR(36), num DECIMAL(30, 10))"
        }
    };
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(ddl, &[]).unwrap();
    conn
}

/// Writes `value` into `column` of a new row and reads it back, through a parameterized
/// SELECT and a literal one (MySQL decodes those two from different wire formats); both must
/// agree.
fn round_trip(db: &TestDb, conn: &mut Connection, column: &str, value: Value) -> Value {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    conn.exec_driver_sql(
        &db.sql(&format!("INSERT INTO v (id, {column}) VALUES (?, ?)")),
        &[Value::Int(id), value.clone()],
    )
    .unwrap_or_else(|e| panic!("{}: inserting {value:?} into {column}: {e}", db.name()));
    let bound = conn
        .exec_driver_sql(
            &db.sql(&format!("SELECT {column} FROM v WHERE id = ?")),
            &[Value::Int(id)],
        )
        .unwrap()
        .one()
        .unwrap()
        .into_values()
        .remove(0);
    let literal = conn
        .exec_driver_sql(&format!("SELECT {column} FROM v WHERE id = {id}"), &[])
        .unwrap()
        .one()
        .unwrap()
        .into_values()
        .remove(0);
    assert_eq!(bound, literal, "{}: {column}", db.name());
    bound
}

fn read<T: FromValue>(v: Value) -> T {
    T::from_value(v).unwrap()
}

#[test]
fn integers_floats_and_booleans() {
    for_each_backend(|db| {
        let mut conn = create(db);
        for i in [i64::MIN, i64::MAX, 0, -1, 42] {
            assert_eq!(round_trip(db, &mut conn, "i", Value::Int(i)), Value::Int(i));
        }
        for x in [1.5, -0.25, 1e300, f64::MIN_POSITIVE, 0.1, 123456.789] {
            assert_eq!(
                round_trip(db, &mut conn, "f", Value::Float(x)),
                Value::Float(x)
            );
        }
        // Single precision reads back as the shortest decimal, not 0.10000000149.
        assert_eq!(
            round_trip(db, &mut conn, "f4", Value::Float(0.1)),
            Value::Float(0.1)
        );
        assert_eq!(
            round_trip(db, &mut conn, "f4", Value::Float(2.5)),
            Value::Float(2.5)
        );
        for b in [true, false] {
            let v = round_trip(db, &mut conn, "b", Value::Bool(b));
            assert_eq!(read::<bool>(v), b);
        }
        // An integer binds to a floating column and a float with no fraction to an integer one.
        assert_eq!(
            read::<f64>(round_trip(db, &mut conn, "f", Value::Int(3))),
            3.0
        );
        assert_eq!(
            read::<i64>(round_trip(db, &mut conn, "i", Value::Float(7.0))),
            7
        );
    });
}

#[test]
fn null_in_every_column() {
    for_each_backend(|db| {
        let mut conn = create(db);
        for column in [
            "i", "f", "f4", "b", "t", "bin", "d", "tm", "dt", "dtz", "j", "u", "num",
        ] {
            assert_eq!(
                round_trip(db, &mut conn, column, Value::Null),
                Value::Null,
                "{column}"
            );
        }
        let v = round_trip(db, &mut conn, "t", Value::Null);
        assert_eq!(read::<Option<String>>(v), None);
    });
}

#[test]
fn text_and_bytes() {
    for_each_backend(|db| {
        let mut conn = create(db);
        for s in [
            "",
            "𝄞😀",
            "plain ascii",
            "it's \"quoted\"",
            r"C:\path\to\new\file \\ \' \n",
            "'; DROP TABLE v; --",
            "Robert'); DROP TABLE v;--",
            "ünïcödé ñ 漢字",
        ] {
            assert_eq!(
                round_trip(db, &mut conn, "t", Value::from(s)),
                Value::from(s),
                "{s:?}"
            );
        }
        // The injection attempts were data: the table is still there.
        let n: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM v", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert!(n >= 8);

        for b in [
            vec![],
            vec![0u8, 1, 2, 255, 0],
            b"\x00'\\\"".to_vec(),
            (0..=255).collect(),
        ] {
            assert_eq!(
                round_trip(db, &mut conn, "bin", Value::Bytes(b.clone())),
                Value::Bytes(b)
            );
        }
        let big = "x".repeat(100_000);
        assert_eq!(
            round_trip(db, &mut conn, "t", Value::from(big.as_str())),
            Value::from(big.as_str())
        );
    });
}

#[test]
fn nul_in_text() {
    for_each_backend(|db| {
        let mut conn = create(db);
        let with_nul = Value::from("a\0b");
        if db.name() == "postgresql" {
            // PostgreSQL text cannot hold NUL: a typed data error, not a panic or truncation.
            let err = conn
                .exec_driver_sql(
                    &db.sql("INSERT INTO v (id, t) VALUES (?, ?)"),
                    &[Value::Int(1), with_nul],
                )
                .unwrap_err();
            assert!(matches!(err, Error::Data(_)), "{err:?}");
            assert_eq!(err.kind(), Some(ErrorKind::InvalidValue));
            assert_eq!(err.database_error().unwrap().code(), Some("22021"));
            // BYTEA holds it fine.
            assert_eq!(
                round_trip(db, &mut conn, "bin", Value::Bytes(b"a\0b".to_vec())),
                Value::Bytes(b"a\0b".to_vec())
            );
        } else {
            assert_eq!(round_trip(db, &mut conn, "t", with_nul.clone()), with_nul);
        }
    });
}

#[test]
fn dates_and_times() {
    for_each_backend(|db| {
        let mut conn = create(db);
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let time = NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap();
        let dt = NaiveDateTime::new(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(), time);
        let utc: DateTime<Utc> = DateTime::from_timestamp(1_700_000_000, 654_321_000).unwrap();

        assert_eq!(
            read::<NaiveDate>(round_trip(db, &mut conn, "d", date.into())),
            date
        );
        assert_eq!(
            read::<NaiveTime>(round_trip(db, &mut conn, "tm", time.into())),
            time
        );
        let midnight = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        assert_eq!(
            read::<NaiveTime>(round_trip(db, &mut conn, "tm", midnight.into())),
            midnight
        );
        assert_eq!(
            read::<NaiveDateTime>(round_trip(db, &mut conn, "dt", dt.into())),
            dt
        );
        assert_eq!(
            read::<DateTime<Utc>>(round_trip(db, &mut conn, "dtz", utc.into())),
            utc
        );

        // Typed where the database has the type.
        let v = round_trip(db, &mut conn, "d", date.into());
        match db.name() {
            "sqlite" => assert_eq!(v, Value::Text("2024-02-29".into())),
            _ => assert_eq!(v, Value::Date(date)),
        }
        if db.name() == "postgresql" {
            assert_eq!(
                round_trip(db, &mut conn, "dtz", utc.into()),
                Value::DateTimeUtc(utc)
            );
        }
    });
}

#[test]
fn json_uuid_and_decimal() {
    for_each_backend(|db| {
        let mut conn = create(db);
        let doc = serde_json::json!({"a": [1, 2.5, {"b": null}], "s": "𝄞 \"q\" \\", "t": true});
        assert_eq!(
            read::<serde_json::Value>(round_trip(db, &mut conn, "j", doc.clone().into())),
            doc
        );

        let id = Uuid::new_v4();
        assert_eq!(read::<Uuid>(round_trip(db, &mut conn, "u", id.into())), id);

        for s in ["12345.6789012345", "-0.0000000001", "0", "99999999999999.5"] {
            let d = Decimal::from_str(s).unwrap();
            let back: Decimal = read(round_trip(db, &mut conn, "num", d.into()));
            assert_eq!(back, d, "{}: {s}", db.name());
        }
        if db.name() != "sqlite" {
            // Exact beyond a double's 15 digits where the database has a decimal type.
            let d = Decimal::from_str("12345678901234567890.0123456789").unwrap();
            let v = round_trip(db, &mut conn, "num", d.into());
            assert_eq!(v, Value::Decimal(d));
        }
    });
}

#[test]
fn text_binds_to_typed_columns() {
    for_each_backend(|db| {
        let mut conn = create(db);
        // Text for a number or a date is parsed by the database, as a literal would be.
        assert_eq!(
            read::<i64>(round_trip(db, &mut conn, "i", Value::from("42"))),
            42
        );
        let date = NaiveDate::from_ymd_opt(2020, 1, 2).unwrap();
        assert_eq!(
            read::<NaiveDate>(round_trip(db, &mut conn, "d", Value::from("2020-01-02"))),
            date
        );
        let d = Decimal::from_str("1.25").unwrap();
        assert_eq!(
            read::<Decimal>(round_trip(db, &mut conn, "num", Value::from("1.25"))),
            d
        );
    });
}

#[test]
fn unsigned_bigint_on_mysql() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE u (id INTEGER PRIMARY KEY, n BIGINT UNSIGNED, bits BIT(16))",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        "INSERT INTO u VALUES (1, 18446744073709551615, b'1000000000000001')",
        &[],
    )
    .unwrap();
    for sql in [
        "SELECT n, bits FROM u WHERE id = 1",
        "SELECT n, bits FROM u WHERE id = ?",
    ] {
        let params = if sql.contains('?') {
            vec![Value::Int(1)]
        } else {
            vec![]
        };
        let row = conn.exec_driver_sql(sql, &params).unwrap().one().unwrap();
        assert_eq!(row.get::<u64>("n").unwrap(), u64::MAX);
        assert_eq!(row.get::<i64>("bits").unwrap(), 0x8001);
    }
}
