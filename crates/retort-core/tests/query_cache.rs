//! The engine's compiled-statement cache on every backend: one entry per statement shape,
//! values kept out of the key except where they change the SQL, LRU eviction, size 0.
//!
//! Debug builds also check every cache hit against a full compile (see
//! `retort_core::engine::cache`), so each hit below is verified by the engine too.

use retort_core::engine::QueryCacheStats;
use retort_core::sql::{select, table, text};
use retort_core::{Connection, Engine, Value};
use retort_testkit::for_each_backend;

mod common;
use common::people;

/// The change in the counters from `before` to now.
fn since(engine: &Engine, before: QueryCacheStats) -> (u64, u64, u64) {
    let now = engine.query_cache_stats();
    (
        now.misses - before.misses,
        now.hits - before.hits,
        now.uncached - before.uncached,
    )
}

fn names(conn: &mut Connection, stmt: &retort_core::sql::Select) -> Vec<String> {
    conn.execute(stmt)
        .unwrap()
        .all()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect()
}

#[test]
fn one_shape_with_other_values_compiles_once_and_binds_each_value() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let before = engine.query_cache_stats();
        for (id, name) in [(1, "Ann"), (2, "Bo"), (3, "Cy"), (1, "Ann")] {
            let q = select(p.c("name")).where_(p.c("id").eq(id));
            assert_eq!(names(&mut conn, &q), [name]);
        }
        assert_eq!(since(engine, before), (1, 3, 0));
        // The same shape from another connection of the engine shares the entry.
        drop(conn);
        let mut other = engine.connect().unwrap();
        let q = select(p.c("name")).where_(p.c("id").eq(2));
        assert_eq!(names(&mut other, &q), ["Bo"]);
        assert_eq!(since(engine, before), (1, 4, 0));
    });
}

#[test]
fn different_shapes_get_entries_of_their_own() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let before = engine.query_cache_stats();
        let shapes = [
            select(p.c("name")).where_(p.c("id").eq(1)),
            select(p.c("name")).where_(p.c("age").eq(30)),
            select(p.c("name")).where_(p.c("id").eq(p.c("age"))),
            select(p.c("name")).where_(p.c("id").gt(1)),
            select(p.c("name").label("n")).where_(p.c("id").eq(1)),
            select(p.c("name")).where_(p.c("id").eq(1).and(p.c("age").eq(30))),
            select(p.c("name")).where_(p.c("id").eq(1).or(p.c("age").eq(30))),
            select(p.c("name"))
                .where_(p.c("id").eq(1))
                .order_by(p.c("id")),
        ];
        let expected: [&[&str]; 8] = [
            &["Ann"],
            &["Ann"],
            &[],
            &["Bo", "Cy"],
            &["Ann"],
            &["Ann"],
            &["Ann"],
            &["Ann"],
        ];
        for (q, want) in shapes.iter().zip(expected) {
            let mut got = names(&mut conn, q);
            got.sort();
            assert_eq!(got, want);
        }
        assert_eq!(since(engine, before), (8, 0, 0));
        // Each shape again, with other values: every one is found, none is confused.
        let again = [
            (select(p.c("name")).where_(p.c("id").eq(3)), "Cy"),
            (select(p.c("name")).where_(p.c("age").eq(41)), "Cy"),
            (select(p.c("name")).where_(p.c("id").gt(2)), "Cy"),
        ];
        for (q, want) in &again {
            assert_eq!(names(&mut conn, q), [*want]);
        }
        assert_eq!(since(engine, before), (8, 3, 0));
    });
}

#[test]
fn a_null_compared_with_eq_is_a_shape_of_its_own() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let by_age = |age: Value| select(p.c("name")).where_(p.c("age").eq(age));
        let before = engine.query_cache_stats();
        assert_eq!(names(&mut conn, &by_age(Value::Int(30))), ["Ann"]);
        // `age = NULL` would match nothing: this one must compile to `IS NULL`.
        assert_eq!(names(&mut conn, &by_age(Value::Null)), ["Bo"]);
        assert_eq!(names(&mut conn, &by_age(Value::Int(41))), ["Cy"]);
        assert_eq!(names(&mut conn, &by_age(Value::Null)), ["Bo"]);
        assert_eq!(since(engine, before), (2, 2, 0));
    });
}

#[test]
fn limit_and_offset_values_bound_or_written_as_the_dialect_does() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let literal = engine.dialect().capabilities().literal_limit;
        let page = |limit: u64, offset: u64| {
            select(p.c("name"))
                .order_by(p.c("id"))
                .limit(limit)
                .offset(offset)
        };
        let before = engine.query_cache_stats();
        assert_eq!(names(&mut conn, &page(1, 0)), ["Ann"]);
        assert_eq!(names(&mut conn, &page(2, 1)), ["Bo", "Cy"]);
        assert_eq!(names(&mut conn, &page(1, 2)), ["Cy"]);
        assert_eq!(names(&mut conn, &page(2, 1)), ["Bo", "Cy"]);
        // Bound: one entry for every page. Written out: one per pair of numbers.
        let expected = if literal { (3, 1, 0) } else { (1, 3, 0) };
        assert_eq!(since(engine, before), expected, "literal_limit = {literal}");
        // Past what a signed 64-bit parameter holds, the number is written on every dialect
        // (or lowered to the dialect's maximum) and still reads every row.
        assert_eq!(names(&mut conn, &page(u64::MAX, 0)), ["Ann", "Bo", "Cy"]);
        assert_eq!(names(&mut conn, &page(u64::MAX, 2)), ["Cy"]);
    });
}

#[test]
fn in_lists_of_other_lengths_are_other_shapes() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let by_ids = |ids: &[i64]| {
            select(p.c("name"))
                .where_(p.c("id").in_(ids.iter().copied()))
                .order_by(p.c("id"))
        };
        let before = engine.query_cache_stats();
        assert_eq!(names(&mut conn, &by_ids(&[1, 2])), ["Ann", "Bo"]);
        assert_eq!(names(&mut conn, &by_ids(&[1, 2, 3])), ["Ann", "Bo", "Cy"]);
        assert_eq!(names(&mut conn, &by_ids(&[])), Vec::<String>::new());
        assert_eq!(since(engine, before), (3, 0, 0));
        assert_eq!(names(&mut conn, &by_ids(&[3, 2])), ["Bo", "Cy"]);
        assert_eq!(names(&mut conn, &by_ids(&[2])), ["Bo"]);
        assert_eq!(names(&mut conn, &by_ids(&[])), Vec::<String>::new());
        assert_eq!(since(engine, before), (4, 2, 0));
    });
}

#[test]
fn textual_sql_is_compiled_every_time() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let before = engine.query_cache_stats();
        for id in [1, 3] {
            let q = text("SELECT name FROM people WHERE id = :id").bind("id", id);
            assert_eq!(conn.execute(&q).unwrap().all().len(), 1);
        }
        assert_eq!(since(engine, before), (0, 0, 2));
    });
}

#[test]
fn the_least_recently_used_entry_goes_when_the_cache_is_full() {
    for_each_backend(|db| {
        let engine = db.builder().query_cache_size(2).build().unwrap();
        let mut conn = people(db, &engine);
        let p = table("people");
        let a = select(p.c("name")).where_(p.c("id").eq(1));
        let b = select(p.c("name")).where_(p.c("age").eq(30));
        let c = select(p.c("name")).where_(p.c("name").eq("Ann"));
        for q in [&a, &b, &a, &c] {
            assert_eq!(names(&mut conn, q), ["Ann"]);
        }
        // `b` was used least recently when `c` came: it went, `a` stayed.
        let stats = engine.query_cache_stats();
        assert_eq!((stats.misses, stats.hits), (3, 1));
        assert_eq!((stats.entries, stats.capacity, stats.evictions), (2, 2, 1));
        names(&mut conn, &a);
        assert_eq!(engine.query_cache_stats().hits, 2);
        names(&mut conn, &b);
        let stats = engine.query_cache_stats();
        assert_eq!((stats.misses, stats.entries, stats.evictions), (4, 2, 2));
    });
}

#[test]
fn size_zero_turns_the_cache_off() {
    for_each_backend(|db| {
        let engine = db.builder().query_cache_size(0).build().unwrap();
        let mut conn = people(db, &engine);
        let p = table("people");
        for id in [1, 1, 2] {
            let q = select(p.c("id")).where_(p.c("id").eq(id));
            assert_eq!(conn.execute(&q).unwrap().all().len(), 1);
        }
        let stats = engine.query_cache_stats();
        assert_eq!((stats.hits, stats.misses, stats.uncached), (0, 0, 3));
        assert_eq!((stats.entries, stats.capacity), (0, 0));
    });
}

#[test]
fn streamed_statements_use_the_cache_too() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let before = engine.query_cache_stats();
        for (id, name) in [(2, "Bo"), (3, "Cy")] {
            let q = select(p.c("name")).where_(p.c("id").eq(id));
            let rows: Vec<String> = conn
                .stream(&q)
                .unwrap()
                .map(|r| r.unwrap().get::<String>(0).unwrap())
                .collect();
            assert_eq!(rows, [name]);
        }
        assert_eq!(since(engine, before), (1, 1, 0));
    });
}
