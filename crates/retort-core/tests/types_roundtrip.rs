//! Every `SqlType` through a real table on every backend: declared with the schema API,
//! created with `metadata.create_all`, written with `insert()`, found again with a bound
//! `WHERE column = value`, and read back with `select()` and a typed `Row::get`. Values must
//! come back exactly equal.

use std::fmt::Debug;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::{insert, select};
use retort_core::types::{SqlType, SqlTyped};
use retort_core::value::{FromValue, ToValue};
use retort_core::{Error, ErrorKind, Result, Value};
use retort_testkit::{for_each_backend, TestDb};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A table `name` with an integer key and one nullable column `v` of type `ty`.
fn table_of(db: &TestDb, name: &str, ty: SqlType) -> Table {
    let md = MetaData::new();
    let table = Table::new(name, &md)
        .column(
            Column::new("id", SqlType::Integer)
                .primary_key()
                .autoincrement(false),
        )
        .column(Column::new("v", ty))
        .build()
        .unwrap();
    md.create_all(db.engine()).unwrap();
    table
}

/// Writes each value into its own row of a new table of type `ty` and reads them all back.
/// Each non-NULL value must also find its own row through `WHERE v = value` unless
/// `filter` is false (for types the databases compare as text).
fn round_trip<T>(db: &TestDb, name: &str, ty: SqlType, values: &[Option<T>], filter: bool)
where
    T: ToValue + FromValue + PartialEq + Debug,
{
    let table = table_of(db, name, ty);
    let mut conn = db.engine().connect().unwrap();
    for (id, v) in values.iter().enumerate() {
        conn.execute(&insert(&table).value("id", id as i64).value("v", v))
            .unwrap_or_else(|e| panic!("{} {name}: inserting {v:?}: {e}", db.name()));
    }
    let rows = conn
        .execute(&select((table.c("id"), table.c("v"))).order_by(table.c("id")))
        .unwrap()
        .all();
    let back: Vec<Option<T>> = rows
        .iter()
        .map(|r| {
            r.get::<Option<T>>("v")
                .unwrap_or_else(|e| panic!("{} {name}: {e}", db.name()))
        })
        .collect();
    assert_eq!(back, values, "{} {name}", db.name());

    for (id, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        // Non-optional reads of a value that is there.
        let one = conn
            .execute(&select(table.c("v")).where_(table.c("id").eq(id as i64)))
            .unwrap()
            .one()
            .unwrap();
        assert_eq!(&one.get::<T>(0).unwrap(), v, "{} {name}", db.name());
        if filter {
            let ids: Vec<i64> = conn
                .execute(
                    &select(table.c("id"))
                        .where_(table.c("v").eq(v))
                        .order_by(table.c("id")),
                )
                .unwrap()
                .scalars()
                .unwrap();
            assert!(
                ids.contains(&(id as i64)),
                "{} {name}: WHERE v = {v:?} found {ids:?}",
                db.name()
            );
        }
    }
    // NULL is found with IS NULL (eq(None) compiles to it).
    let nulls = values.iter().filter(|v| v.is_none()).count();
    let found = conn
        .execute(&select(table.c("id")).where_(table.c("v").eq(None::<i64>)))
        .unwrap()
        .all()
        .len();
    assert_eq!(found, nulls, "{} {name}: IS NULL", db.name());
}

/// Inserts `value` into a new table of type `ty` and returns the error.
fn refused(db: &TestDb, name: &str, ty: SqlType, value: impl ToValue) -> Error {
    let table = table_of(db, name, ty);
    let mut conn = db.engine().connect().unwrap();
    let result = conn.execute(&insert(&table).value("id", 1).value("v", value));
    match result {
        Err(e) => e,
        Ok(_) => {
            let back = conn
                .execute(&select(table.c("v")))
                .unwrap()
                .scalar::<Value>()
                .unwrap();
            panic!("{} {name}: accepted, stored {back:?}", db.name())
        }
    }
}

#[test]
fn integers_at_their_limits() {
    for_each_backend(|db| {
        round_trip(
            db,
            "small",
            SqlType::SmallInteger,
            &[Some(i16::MIN), Some(i16::MAX), Some(0), Some(-1), None],
            true,
        );
        round_trip(
            db,
            "int",
            SqlType::Integer,
            &[Some(i32::MIN), Some(i32::MAX), Some(0), Some(1), None],
            true,
        );
        round_trip(
            db,
            "big",
            SqlType::BigInteger,
            &[Some(i64::MIN), Some(i64::MAX), Some(0), Some(-1), None],
            true,
        );
    });
}

#[test]
fn integers_out_of_range() {
    for_each_backend(|db| {
        let too_big = i64::from(i32::MAX) + 1;
        if db.name() == "sqlite" {
            // SQLite stores any integer in any integer column; the Rust type is the check.
            let table = table_of(db, "int", SqlType::Integer);
            let mut conn = db.engine().connect().unwrap();
            conn.execute(&insert(&table).value("id", 1).value("v", too_big))
                .unwrap();
            let row = conn.execute(&select(table.c("v"))).unwrap().one().unwrap();
            assert_eq!(row.get::<i64>(0).unwrap(), too_big);
            assert!(matches!(row.get::<i32>(0), Err(Error::Conversion(_))));
        } else {
            for (name, ty, value) in [
                ("int", SqlType::Integer, too_big),
                ("small", SqlType::SmallInteger, i64::from(i16::MIN) - 1),
            ] {
                let err = refused(db, name, ty, value);
                assert!(matches!(err, Error::Data(_)), "{}: {err:?}", db.name());
                assert_eq!(err.kind(), Some(ErrorKind::OutOfRange), "{}", db.name());
            }
        }
    });
}

#[test]
fn floats_and_doubles() {
    for_each_backend(|db| {
        round_trip(
            db,
            "f",
            SqlType::Float,
            &[Some(1.5f32), Some(-0.25), Some(0.1), Some(3.0e38), None],
            true,
        );
        round_trip(
            db,
            "d",
            SqlType::Double,
            &[
                Some(0.1f64),
                Some(-1.5e-300),
                Some(f64::MAX),
                Some(f64::MIN_POSITIVE),
                Some(123456.789),
                None,
            ],
            true,
        );
    });
}

#[test]
fn numeric_keeps_every_digit() {
    for_each_backend(|db| {
        let d = |s: &str| Some(Decimal::from_str(s).unwrap());
        round_trip(
            db,
            "num",
            SqlType::numeric(18, 4),
            &[
                d("1234567890.1234"),
                d("-99999999999.9999"),
                d("0.0001"),
                d("0.0000"),
                d("42.5000"),
                None,
            ],
            true,
        );
        // Whole numbers are exact to 18 digits everywhere (an INTEGER on SQLite).
        round_trip(
            db,
            "whole",
            SqlType::numeric(18, 0),
            &[d("123456789012345678"), d("-999999999999999999")],
            true,
        );
        let wide = d("12345678901234.5678");
        if db.name() == "sqlite" {
            // SQLite has no exact decimal: a NUMERIC column keeps 15 significant digits, so
            // retort refuses the value rather than let the database round it.
            let err = refused(db, "wide", SqlType::numeric(18, 4), wide);
            assert!(matches!(err, Error::Data(_)), "{err:?}");
            assert_eq!(err.kind(), Some(ErrorKind::OutOfRange));
        } else {
            round_trip(
                db,
                "wide",
                SqlType::numeric(18, 4),
                &[wide, d("-99999999999999.9999")],
                true,
            );
        }
    });
}

#[test]
fn strings_and_text() {
    for_each_backend(|db| {
        let values: Vec<Option<String>> = [
            "",
            "𝄞😀",
            "it's \"quoted\" `back`",
            r"back\slash \\ \' \n",
            "'; DROP TABLE users; --",
            "Robert'); DROP TABLE v;--",
            "ünïcödé ñ 漢字",
            "line\nbreak\ttab",
            "trailing space ",
        ]
        .into_iter()
        .map(|s| Some(s.to_owned()))
        .chain([None])
        .collect();
        round_trip(db, "s", SqlType::string(64), &values, true);
        round_trip(db, "t", SqlType::Text, &values, true);
        let mut long = values.clone();
        long.push(Some("x".repeat(70_000)));
        round_trip(db, "long_t", SqlType::Text, &long, false);

        // The declared length is the limit (in characters, not bytes).
        round_trip(
            db,
            "exact",
            SqlType::string(4),
            &[Some("𝄞😀ab".to_owned())],
            true,
        );
        if db.name() != "sqlite" {
            let err = refused(db, "over", SqlType::string(4), "abcde");
            assert!(matches!(err, Error::Data(_)), "{}: {err:?}", db.name());
            assert_eq!(err.kind(), Some(ErrorKind::TooLong), "{}", db.name());
        }
    });
}

#[test]
fn booleans() {
    for_each_backend(|db| {
        round_trip(
            db,
            "b",
            SqlType::Boolean,
            &[Some(true), Some(false), None],
            true,
        );
    });
}

#[test]
fn dates_times_and_datetimes() {
    for_each_backend(|db| {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        round_trip(
            db,
            "d",
            SqlType::Date,
            &[
                Some(date(2024, 2, 29)),
                Some(date(1970, 1, 1)),
                Some(date(1000, 1, 1)),
                Some(date(9999, 12, 31)),
                None,
            ],
            true,
        );
        let time = |h, m, s, us| NaiveTime::from_hms_micro_opt(h, m, s, us).unwrap();
        round_trip(
            db,
            "tm",
            SqlType::Time,
            &[
                Some(time(0, 0, 0, 0)),
                Some(time(23, 59, 59, 999_999)),
                Some(time(12, 0, 0, 1)),
                None,
            ],
            true,
        );
        let naive = |d: NaiveDate, t: NaiveTime| NaiveDateTime::new(d, t);
        round_trip(
            db,
            "dt",
            SqlType::DateTime { timezone: false },
            &[
                Some(naive(date(1999, 12, 31), time(23, 59, 58, 123_456))),
                Some(naive(date(2038, 1, 19), time(3, 14, 8, 1))),
                Some(naive(date(1970, 1, 1), time(0, 0, 0, 0))),
                None,
            ],
            true,
        );
        let utc = |secs, micros: u32| DateTime::<Utc>::from_timestamp(secs, micros * 1000).unwrap();
        round_trip(
            db,
            "dtz",
            SqlType::DateTime { timezone: true },
            &[
                Some(utc(1_700_000_000, 654_321)),
                Some(utc(0, 1)),
                Some(utc(4_102_444_800, 999_999)),
                None,
            ],
            true,
        );
    });
}

#[test]
fn binary() {
    for_each_backend(|db| {
        round_trip(
            db,
            "bin",
            SqlType::LargeBinary,
            &[
                Some(vec![]),
                Some(vec![0u8, 1, 0, 255, 0]),
                Some(b"\x00'\\\"; DROP TABLE v; --".to_vec()),
                Some((0..=255).collect()),
                Some(vec![0u8; 100_000]),
                None,
            ],
            true,
        );
    });
}

#[test]
fn json() {
    for_each_backend(|db| {
        round_trip(
            db,
            "j",
            SqlType::Json,
            &[
                Some(serde_json::json!({"a": [1, 2.5, {"b": null}], "s": "𝄞 \"q\" \\", "t": true})),
                Some(serde_json::json!([])),
                Some(serde_json::json!("just a string")),
                Some(serde_json::json!(-12)),
                None,
            ],
            // JSON equality is textual on SQLite and MySQL: key order and spacing matter.
            false,
        );
    });
}

#[test]
fn uuids() {
    for_each_backend(|db| {
        round_trip(
            db,
            "u",
            SqlType::Uuid,
            &[
                Some(Uuid::new_v4()),
                Some(Uuid::nil()),
                Some(Uuid::max()),
                None,
            ],
            true,
        );
    });
}

#[test]
fn enums_and_values_outside_them() {
    for_each_backend(|db| {
        let mood = || SqlType::enumeration("mood", ["happy", "sad", "it's"]);
        round_trip(
            db,
            "e",
            mood(),
            &[
                Some("happy".to_owned()),
                Some("it's".to_owned()),
                Some("sad".to_owned()),
                None,
            ],
            true,
        );
        // Another table, so PostgreSQL's named type already exists and is reused.
        let err = refused(db, "e2", mood(), "angry");
        let expected = match db.name() {
            // A CHECK constraint holds the set.
            "sqlite" => ErrorKind::CheckViolation,
            // The named enum type refuses the text: invalid_text_representation (22P02).
            "postgresql" => ErrorKind::InvalidValue,
            // The native ENUM column, in strict mode: "Data truncated" (1265).
            _ => ErrorKind::InvalidValue,
        };
        assert_eq!(err.kind(), Some(expected), "{}: {err:?}", db.name());
        match db.name() {
            "sqlite" => assert!(matches!(err, Error::Integrity(_)), "{err:?}"),
            _ => assert!(matches!(err, Error::Data(_)), "{}: {err:?}", db.name()),
        }
    });
}

/// A colour kept as `#rrggbb` text: a user-defined type, as SQLAlchemy's `TypeDecorator`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(u8, u8, u8);

impl SqlTyped for Rgb {
    fn sql_type() -> SqlType {
        SqlType::string(7)
    }
}

impl ToValue for Rgb {
    fn to_value(&self) -> Value {
        Value::Text(format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2))
    }
}

impl FromValue for Rgb {
    fn from_value(value: Value) -> Result<Self> {
        let s = String::from_value(value)?;
        let bad = || Error::Conversion(format!("not a #rrggbb colour: {s:?}"));
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6)
            .ok_or_else(bad)?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }
}

/// A Rust enum stored in an enum column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mood {
    Happy,
    Sad,
}

impl SqlTyped for Mood {
    fn sql_type() -> SqlType {
        SqlType::enumeration("rust_mood", ["happy", "sad"])
    }
}

impl ToValue for Mood {
    fn to_value(&self) -> Value {
        Value::from(match self {
            Mood::Happy => "happy",
            Mood::Sad => "sad",
        })
    }
}

impl FromValue for Mood {
    fn from_value(value: Value) -> Result<Self> {
        match String::from_value(value)?.as_str() {
            "happy" => Ok(Mood::Happy),
            "sad" => Ok(Mood::Sad),
            other => Err(Error::Conversion(format!("unknown mood {other:?}"))),
        }
    }
}

#[test]
fn user_defined_types() {
    for_each_backend(|db| {
        round_trip(
            db,
            "colours",
            Rgb::sql_type(),
            &[Some(Rgb(255, 0, 128)), Some(Rgb(0, 0, 0)), None],
            true,
        );
        round_trip(
            db,
            "moods",
            Mood::sql_type(),
            &[Some(Mood::Sad), Some(Mood::Happy), None],
            true,
        );
        // The type's own conversion rejects what it did not write.
        let table = table_of(db, "raw_colours", Rgb::sql_type());
        let mut conn = db.engine().connect().unwrap();
        conn.execute(&insert(&table).value("id", 1).value("v", "red"))
            .unwrap();
        let row = conn.execute(&select(table.c("v"))).unwrap().one().unwrap();
        let err = row.get::<Rgb>(0).unwrap_err();
        assert!(matches!(err, Error::Conversion(_)), "{err:?}");
    });
}
