//! Reading rows straight from the driver, on every backend: `query_map` and custom
//! `RowSink`s, what a bad read reports, and that stopping halfway leaves the connection
//! usable.

use retort_core::engine::driver::{DriverRow, RowSink};
use retort_core::sql::{select, table};
use retort_core::{Error, Value};
use retort_testkit::{for_each_backend, TestDb};

fn people(db: &TestDb) -> retort_core::Connection {
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, age INTEGER)",
        &[],
    )
    .unwrap();
    let mut params = Vec::new();
    for id in 1..=300i64 {
        params.push(Value::Int(id));
        params.push(Value::Text(format!("person {id}")));
        params.push(if id % 3 == 0 {
            Value::Null
        } else {
            Value::Int(20 + id % 50)
        });
    }
    let rows = vec!["(?, ?, ?)"; 300].join(", ");
    conn.exec_driver_sql(
        &db.sql(&format!("INSERT INTO people (id, name, age) VALUES {rows}")),
        &params,
    )
    .unwrap();
    conn
}

#[test]
fn query_map_reads_each_row_by_position_into_typed_values() {
    for_each_backend(|db| {
        let mut conn = people(db);
        let t = table("people");
        let stmt = select((t.c("id"), t.c("name"), t.c("age")))
            .where_(t.c("id").le(4))
            .order_by(t.c("id"));
        let rows: Vec<(i64, String, Option<i64>)> = conn
            .query_map(&stmt, |row| {
                assert_eq!(row.len(), 3);
                assert_eq!(row.column_name(1), "name");
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "person 1".to_owned(), Some(21)),
                (2, "person 2".to_owned(), Some(22)),
                (3, "person 3".to_owned(), None),
                (4, "person 4".to_owned(), Some(24)),
            ]
        );
        // Without parameters too (MySQL runs it prepared, in the binary protocol).
        let count: Vec<i64> = conn
            .query_map_driver_sql("SELECT COUNT(*) FROM people", &[], |row| row.get(0))
            .unwrap();
        assert_eq!(count, vec![300]);
    });
}

#[test]
fn a_column_read_twice_or_out_of_range_or_of_the_wrong_type_is_a_typed_error() {
    for_each_backend(|db| {
        let mut conn = people(db);
        let sql = "SELECT id, name FROM people WHERE id = 1";
        let twice = conn
            .query_map_driver_sql(sql, &[], |row| {
                let _: i64 = row.get(0)?;
                row.get::<i64>(0)
            })
            .unwrap_err();
        assert!(
            matches!(&twice, Error::InvalidRequest(m) if m.contains("column 0 ('id') was already read")),
            "{twice:?}"
        );
        let past = conn
            .query_map_driver_sql(sql, &[], |row| row.get::<i64>(2))
            .unwrap_err();
        assert!(
            matches!(&past, Error::Argument(m) if m.contains("index 2 is out of range")),
            "{past:?}"
        );
        let wrong = conn
            .query_map_driver_sql(sql, &[], |row| row.get::<i64>(1))
            .unwrap_err();
        assert!(
            matches!(&wrong, Error::Conversion(m) if m.contains("column 'name' (index 1) as i64")),
            "{wrong:?}"
        );
    });
}

/// Keeps the ids it sees, and fails at the row with id `stop_at`.
struct StopAt {
    stop_at: i64,
    seen: Vec<i64>,
    columns: Vec<String>,
}

impl RowSink for StopAt {
    fn columns(&mut self, names: &mut dyn Iterator<Item = &str>) -> retort_core::Result<()> {
        self.columns = names.map(str::to_owned).collect();
        Ok(())
    }

    fn row(&mut self, row: &mut dyn DriverRow) -> retort_core::Result<()> {
        let id = match row.get(0)? {
            Value::Int(id) => id,
            other => return Err(Error::Argument(format!("unexpected id {other:?}"))),
        };
        if id == self.stop_at {
            return Err(Error::Argument("stop here".into()));
        }
        self.seen.push(id);
        Ok(())
    }
}

#[test]
fn a_sink_that_fails_halfway_stops_the_statement_and_the_connection_goes_on() {
    for_each_backend(|db| {
        let mut conn = people(db);
        let mut sink = StopAt {
            stop_at: 150,
            seen: Vec::new(),
            columns: Vec::new(),
        };
        let err = conn
            .exec_driver_sql_into("SELECT id, name FROM people ORDER BY id", &[], &mut sink)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Argument(m) if m == "stop here"),
            "{err:?}"
        );
        assert_eq!(sink.columns, ["id", "name"]);
        assert_eq!(sink.seen, (1..150).collect::<Vec<_>>());
        // The rest of the result was discarded: the next statements see their own rows.
        let n: i64 = conn
            .exec_driver_sql("SELECT COUNT(*) FROM people WHERE age IS NULL", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 100);
        let mut all = StopAt {
            stop_at: -1,
            seen: Vec::new(),
            columns: Vec::new(),
        };
        conn.exec_driver_sql_into(
            &db.sql("SELECT id FROM people WHERE id > ?"),
            &[Value::Int(298)],
            &mut all,
        )
        .unwrap();
        assert_eq!(all.seen, vec![299, 300]);
    });
}

#[test]
fn a_query_with_no_rows_still_names_its_columns_and_dml_names_none() {
    for_each_backend(|db| {
        let mut conn = people(db);
        let mut empty = StopAt {
            stop_at: -1,
            seen: Vec::new(),
            columns: Vec::new(),
        };
        let outcome = conn
            .exec_driver_sql_into("SELECT id, age FROM people WHERE id < 0", &[], &mut empty)
            .unwrap();
        assert_eq!(empty.columns, ["id", "age"]);
        assert!(empty.seen.is_empty());
        assert_eq!(outcome.rows_affected, 0);

        let mut dml = StopAt {
            stop_at: -1,
            seen: Vec::new(),
            columns: vec!["untouched".into()],
        };
        let outcome = conn
            .exec_driver_sql_into("UPDATE people SET age = 1 WHERE id <= 10", &[], &mut dml)
            .unwrap();
        assert_eq!(outcome.rows_affected, 10);
        assert_eq!(dml.columns, ["untouched"]);
    });
}

#[test]
fn tuples_and_scalars_read_typed_rows_without_building_rows() {
    for_each_backend(|db| {
        let mut conn = people(db);
        let t = table("people");
        let stmt = select((t.c("name"), t.c("age")))
            .where_(t.c("id").in_([2, 3]))
            .order_by(t.c("id"));
        let rows: Vec<(String, Option<i64>)> = conn.tuples(&stmt).unwrap();
        assert_eq!(
            rows,
            vec![
                ("person 2".to_owned(), Some(22)),
                ("person 3".to_owned(), None)
            ]
        );
        let names: Vec<String> = conn
            .scalars(
                &select(t.c("name"))
                    .where_(t.c("id").gt(298))
                    .order_by(t.c("id")),
            )
            .unwrap();
        assert_eq!(names, ["person 299", "person 300"]);
        let wrong = conn.tuples::<(String,)>(&stmt).unwrap_err();
        assert!(
            matches!(&wrong, Error::Argument(m) if m.contains("a row of 2 column(s) cannot be read as a tuple of 1")),
            "{wrong:?}"
        );
    });
}

/// Reads every column of `sql`'s one row as `T`, by position and through a `Value`; the two
/// must agree, value for value and error for error.
fn reads_agree<T: retort_core::value::FromValue + PartialEq + std::fmt::Debug>(
    conn: &mut retort_core::Connection,
    sql: &str,
) {
    let by_position = conn
        .query_map_driver_sql(sql, &[], |row| {
            Ok((0..row.len())
                .map(|i| row.get::<T>(i).map_err(|e| e.to_string()))
                .collect::<Vec<_>>())
        })
        .unwrap()
        .pop()
        .unwrap();
    let values = conn.exec_driver_sql(sql, &[]).unwrap().all()[0]
        .values()
        .to_vec();
    assert_eq!(by_position.len(), values.len());
    for (i, (read, value)) in by_position.into_iter().zip(values).enumerate() {
        let through_value = T::from_value(value.clone());
        match (read, through_value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "column {i} ({value:?})"),
            (Err(a), Err(b)) => assert!(
                a.contains(&b.to_string().replace("conversion error: ", "")),
                "column {i} ({value:?}): `{a}` against `{b}`"
            ),
            (a, b) => {
                panic!("column {i} ({value:?}) read by position as {a:?}, through a value as {b:?}")
            }
        }
    }
}

#[test]
fn reading_by_position_converts_exactly_as_reading_a_value() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        // An integer in and out of small types' range, text holding a number and not, NULL,
        // a float: the typed fast paths and the fallbacks.
        let sql = "SELECT 300 AS a, -7 AS b, '42' AS c, 'x' AS d, NULL AS e, 1.5 AS f";
        reads_agree::<i64>(&mut conn, sql);
        reads_agree::<i32>(&mut conn, sql);
        reads_agree::<i8>(&mut conn, sql);
        reads_agree::<u16>(&mut conn, sql);
        reads_agree::<Option<i32>>(&mut conn, sql);
        reads_agree::<String>(&mut conn, sql);
        reads_agree::<Option<String>>(&mut conn, sql);
        reads_agree::<Option<f64>>(&mut conn, sql);
    });
}
