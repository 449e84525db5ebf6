//! Property tests: every value type, at its extremes and at random, written through retort and
//! read back on every backend. Each value must come back equal, or be refused with a typed
//! data error before any row is written — never stored as another value.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use retort_core::value::{FromValue, ToValue};
use retort_core::{Connection, Error, Value};
use retort_testkit::{for_each_backend, TestDb};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Random cases per property and backend, on top of the fixed edge values.
const CASES: u32 = 64;

struct Ctx<'a> {
    db: &'a TestDb,
    // Interior mutability: proptest's runner takes an `Fn` closure.
    conn: RefCell<Connection>,
    next_id: Cell<i64>,
}

impl<'a> Ctx<'a> {
    fn new(db: &'a TestDb) -> Self {
        let ddl = match db.name() {
            "sqlite" => {
                "CREATE TABLE rt (id INTEGER PRIMARY KEY, i2 SMALLINT, i4 INTEGER, i8 BIGINT,
                 f8 DOUBLE PRECISION, f4 REAL, t TEXT, b BLOB, d DATE, tm TIME, dt TIMESTAMP,
                 dtz TIMESTAMP, num NUMERIC, u TEXT, j TEXT, bo BOOLEAN)"
            }
            "postgresql" => {
                "CREATE TABLE rt (id INTEGER PRIMARY KEY, i2 SMALLINT, i4 INTEGER, i8 BIGINT,
                 f8 DOUBLE PRECISION, f4 REAL, t TEXT, b BYTEA, d DATE, tm TIME, dt TIMESTAMP,
                 dtz TIMESTAMPTZ, num NUMERIC, u UUID, j JSONB, bo BOOLEAN)"
            }
            _ => {
                "CREATE TABLE rt (id INTEGER PRIMARY KEY, i2 SMALLINT, i4 INTEGER, i8 BIGINT,
                 f8 DOUBLE, f4 FLOAT, t LONGTEXT, b LONGBLOB, d DATE, tm TIME(6),
                 dt DATETIME(6), dtz DATETIME(6), num DECIMAL(65, 30), u CHAR(36), j JSON,
                 bo BOOLEAN)"
            }
        };
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(ddl, &[]).unwrap();
        Ctx {
            db,
            conn: RefCell::new(conn),
            next_id: Cell::new(1),
        }
    }

    /// Writes `value` into `column` of a new row and reads it back as `T`.
    fn round_trip<T>(
        &self,
        column: &str,
        value: &T,
        same: impl Fn(&T, &T) -> bool,
    ) -> Result<(), TestCaseError>
    where
        T: ToValue + FromValue + Debug,
    {
        let name = self.db.name();
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let mut conn = self.conn.borrow_mut();
        let insert = self
            .db
            .sql(&format!("INSERT INTO rt (id, {column}) VALUES (?, ?)"));
        let written = conn.exec_driver_sql(&insert, &[Value::Int(id), value.to_value()]);
        let select = self
            .db
            .sql(&format!("SELECT {column} FROM rt WHERE id = ?"));
        let rows = conn
            .exec_driver_sql(&select, &[Value::Int(id)])
            .map_err(|e| TestCaseError::fail(format!("{name}: reading back: {e}")))?
            .all();
        match written {
            Err(Error::Data(_)) => {
                prop_assert!(
                    rows.is_empty(),
                    "{}: {:?} was refused but a row was written",
                    name,
                    value
                );
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(format!(
                "{name}: {value:?} into {column}: not a data error: {e:?}"
            ))),
            Ok(_) => {
                prop_assert_eq!(rows.len(), 1);
                let back: T = rows[0].get(0).map_err(|e| {
                    TestCaseError::fail(format!("{name}: {value:?} in {column} reads as {e}"))
                })?;
                prop_assert!(
                    same(value, &back),
                    "{}: {:?} in {} came back as {:?}",
                    name,
                    value,
                    column,
                    back
                );
                Ok(())
            }
        }
    }

    /// Runs the fixed `edges`, then `CASES` values from `strategy`.
    fn property<T, S>(
        &self,
        column: &str,
        edges: Vec<T>,
        strategy: S,
        same: impl Fn(&T, &T) -> bool + Copy,
    ) where
        T: ToValue + FromValue + Debug,
        S: Strategy<Value = T>,
    {
        for edge in &edges {
            if let Err(e) = self.round_trip(column, edge, same) {
                panic!("{e}");
            }
        }
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |value| self.round_trip(column, &value, same));
        if let Err(e) = result {
            panic!("{}: {column}: {e}", self.db.name());
        }
    }
}

fn eq<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

/// Floats are the same when their bits are, when both are NaN, or when both are zero: SQLite
/// keeps a REAL without a fraction as an integer, so -0.0 reads back as 0.0, which IEEE 754
/// and SQL hold equal to it.
fn same_f64(a: &f64, b: &f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || (*a == 0.0 && *b == 0.0)
}

fn same_f32(a: &f32, b: &f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || (*a == 0.0 && *b == 0.0)
}

#[test]
fn integers_at_their_extremes() {
    for_each_backend(|db| {
        let ctx = Ctx::new(db);
        ctx.property("i2", vec![i16::MIN, i16::MAX, 0, -1], any::<i16>(), eq);
        ctx.property("i4", vec![i32::MIN, i32::MAX, 0, -1], any::<i32>(), eq);
        ctx.property("i8", vec![i64::MIN, i64::MAX, 0, -1], any::<i64>(), eq);
        let top = i64::MAX as u64;
        let u64_edges = vec![0, top, top + 1, u64::MAX];
        ctx.property("i8", u64_edges.clone(), any::<u64>(), eq);
        ctx.property("num", u64_edges, any::<u64>(), eq);
        ctx.property("bo", vec![true, false], any::<bool>(), eq);
    });
}

#[test]
fn floats_at_their_extremes() {
    for_each_backend(|db| {
        let ctx = Ctx::new(db);
        let f64_edges = vec![
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            0.0,
            -0.0,
            f64::EPSILON,
            0.1,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        ctx.property("f8", f64_edges, any::<f64>(), same_f64);
        let f32_edges = vec![
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
            0.0,
            -0.0,
            0.1,
            f32::NAN,
            f32::INFINITY,
        ];
        ctx.property("f4", f32_edges.clone(), any::<f32>(), same_f32);
        // A single-precision value is also exact in a double column.
        ctx.property("f8", f32_edges, any::<f32>(), same_f32);
    });
}

#[test]
fn text_and_bytes_at_their_extremes() {
    for_each_backend(|db| {
        let ctx = Ctx::new(db);
        let text_edges = vec![
            String::new(),
            "\0".to_owned(),
            "a\0b".to_owned(),
            "𝄞😀\u{10FFFF}".to_owned(),
            "'; DROP TABLE rt; --".to_owned(),
            "é".repeat(100_000),
        ];
        ctx.property("t", text_edges, any::<String>(), eq);
        let byte_edges = vec![
            Vec::new(),
            vec![0],
            (0..=255).collect(),
            vec![0xff; 100_000],
        ];
        ctx.property(
            "b",
            byte_edges,
            proptest::collection::vec(any::<u8>(), 0..512),
            eq,
        );
    });
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Any date chrono can hold.
fn any_date() -> impl Strategy<Value = NaiveDate> {
    let lo = NaiveDate::MIN.num_days_from_ce();
    let hi = NaiveDate::MAX.num_days_from_ce();
    prop_oneof![
        (lo..=hi).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        // Most dates in use.
        (ymd(1000, 1, 1).num_days_from_ce()..=ymd(9999, 12, 31).num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
    ]
}

/// Any time of day to the microsecond, which every backend keeps.
fn any_time() -> impl Strategy<Value = NaiveTime> {
    (0u32..86_400, 0u32..1_000_000)
        .prop_map(|(s, us)| NaiveTime::from_num_seconds_from_midnight_opt(s, us * 1000).unwrap())
}

fn any_datetime() -> impl Strategy<Value = NaiveDateTime> {
    (any_date(), any_time()).prop_map(|(d, t)| d.and_time(t))
}

fn date_edges() -> Vec<NaiveDate> {
    vec![
        NaiveDate::MIN,
        NaiveDate::MAX,
        ymd(-4713, 11, 24),
        ymd(-1, 12, 31),
        ymd(0, 1, 1),
        ymd(1, 1, 1),
        ymd(999, 12, 31),
        ymd(1000, 1, 1),
        ymd(1970, 1, 1),
        ymd(2000, 2, 29),
        ymd(9999, 12, 31),
        ymd(10000, 1, 1),
    ]
}

fn time_edges() -> Vec<NaiveTime> {
    vec![
        NaiveTime::MIN,
        NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        NaiveTime::from_hms_micro_opt(12, 0, 0, 1).unwrap(),
        // A leap second.
        NaiveTime::from_hms_milli_opt(23, 59, 59, 1_500).unwrap(),
    ]
}

#[test]
fn dates_and_times_at_each_backends_range_edges() {
    for_each_backend(|db| {
        let ctx = Ctx::new(db);
        ctx.property("d", date_edges(), any_date(), eq);
        ctx.property("tm", time_edges(), any_time(), eq);
        let mut datetime_edges = Vec::new();
        for d in date_edges() {
            for t in time_edges() {
                datetime_edges.push(d.and_time(t));
            }
        }
        // Every backend keeps microseconds: the latest value to the microsecond.
        datetime_edges.push(NaiveDateTime::MIN);
        datetime_edges.push(
            NaiveDate::MAX
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap(),
        );
        ctx.property("dt", datetime_edges.clone(), any_datetime(), eq);
        let utc_edges: Vec<DateTime<Utc>> = datetime_edges.iter().map(|dt| dt.and_utc()).collect();
        ctx.property(
            "dtz",
            utc_edges,
            any_datetime().prop_map(|dt| dt.and_utc()),
            eq,
        );
    });
}

#[test]
fn decimals_uuids_and_json_at_their_extremes() {
    for_each_backend(|db| {
        let ctx = Ctx::new(db);
        let decimal_edges = vec![
            Decimal::MAX,
            Decimal::MIN,
            Decimal::ZERO,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
            Decimal::from_i128_with_scale(10_i128.pow(28) - 1, 28),
            Decimal::new(123_456_789_012_345, 3),
        ];
        let mantissa = -(2_i128.pow(96) - 1)..2_i128.pow(96);
        let any_decimal =
            (mantissa, 0u32..=28).prop_map(|(m, scale)| Decimal::from_i128_with_scale(m, scale));
        ctx.property("num", decimal_edges, any_decimal, eq);

        ctx.property(
            "u",
            vec![Uuid::nil(), Uuid::max()],
            any::<u128>().prop_map(Uuid::from_u128),
            eq,
        );

        let json_edges = vec![
            serde_json::json!(null),
            serde_json::json!({"big": u64::MAX, "small": i64::MIN, "f": f64::MAX}),
            serde_json::json!({"tiny": 5e-324, "neg": -0.5, "s": "𝄞 \"q\" \\ \n"}),
            serde_json::json!([[[[[]]]], {}, "", true]),
            serde_json::json!({"nul": "a\u{0}b"}),
        ];
        let any_json = (any::<i64>(), any::<String>(), -1e300f64..1e300).prop_map(
            |(i, s, f)| serde_json::json!({"i": i, "s": s, "f": f, "a": [i, f, s.clone()]}),
        );
        ctx.property("j", json_edges, any_json, eq);
    });
}
