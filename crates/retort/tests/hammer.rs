//! Eight threads share one engine and hammer it with ORM sessions that insert and update rows
//! for a moment on each backend. Every thread remembers what it committed; afterwards the
//! database must hold exactly that: every committed row with its last committed value, and
//! nothing from a transaction that failed or was rolled back.
//!
//! Deadlocks, serialization failures and lock timeouts may happen (SQLite has one writer at a
//! time); they are counted and the work is dropped, as an application would retry it.

mod common;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

const THREADS: i32 = 8;
const HAMMER_FOR: Duration = Duration::from_millis(1500);

#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "hammered")]
pub struct Hammered {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub owner: i32,
    pub seq: i32,
    pub value: i64,
}

/// What one thread committed: `(owner, seq)` to `(id, value)`.
type Committed = HashMap<(i32, i32), (i64, i64)>;

#[derive(Default)]
struct Tally {
    committed: Committed,
    commits: i64,
    rolled_back: i64,
    contention: i64,
}

/// A small deterministic generator, one per thread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Contention a busy application meets and retries; anything else is a failure.
fn is_contention(err: &Error) -> bool {
    matches!(
        err.kind(),
        Some(ErrorKind::Deadlock | ErrorKind::SerializationFailure | ErrorKind::LockTimeout)
    )
}

fn hammer(engine: &Engine, counters: &Table, owner: i32) -> Tally {
    let factory = sessionmaker(engine).expire_on_commit(false);
    let bump = update(counters)
        .set("hits", counters.c("hits") + 1)
        .where_(counters.c("id").eq(1));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (owner as u64 + 1));
    let mut tally = Tally::default();
    let mut next_seq = 0;
    let mut attempt: i64 = 0;
    let deadline = Instant::now() + HAMMER_FOR;
    while Instant::now() < deadline {
        attempt += 1;
        let value = attempt * 100 + i64::from(owner);
        let session = factory.session();
        let mut inserted = Vec::new();
        let mut updated = Vec::new();
        let abandon = rng.below(8) == 0;
        let mut work = || -> Result<()> {
            for _ in 0..=rng.below(3) {
                next_seq += 1;
                let row = session.add(Hammered {
                    owner,
                    seq: next_seq,
                    value,
                    ..Default::default()
                });
                inserted.push((next_seq, row));
            }
            let mine: Vec<(i32, i64)> = tally
                .committed
                .iter()
                .map(|(&(_, seq), &(id, _))| (seq, id))
                .collect();
            if !mine.is_empty() {
                for _ in 0..=rng.below(2) {
                    let (seq, id) = mine[rng.below(mine.len() as u64) as usize];
                    if let Some(row) = session.get::<Hammered>(id)? {
                        row.write()?.value = value;
                        updated.push(seq);
                    }
                }
            }
            session.execute(&bump)?;
            Ok(())
        };
        let outcome = work().and_then(|()| {
            if abandon {
                session.rollback()
            } else {
                session.commit()
            }
        });
        match outcome {
            Ok(()) if abandon => tally.rolled_back += 1,
            Ok(()) => {
                tally.commits += 1;
                for (seq, row) in inserted {
                    let id = row.read().unwrap().id.expect("a committed row has its key");
                    tally.committed.insert((owner, seq), (id, value));
                }
                for seq in updated {
                    if let Some(entry) = tally.committed.get_mut(&(owner, seq)) {
                        entry.1 = value;
                    }
                }
            }
            Err(e) if is_contention(&e) => {
                tally.contention += 1;
                let _ = session.rollback();
            }
            Err(e) => panic!("thread {owner}: {e}"),
        }
    }
    tally
}

#[test]
fn eight_threads_lose_no_committed_row() {
    for_each_backend(|db| {
        let registry = create_tables(
            db,
            &[
                Registry::register::<Hammered>,
                Registry::register::<Counter>,
            ],
        );
        let checker = Checker::new(db);
        checker.exec(db, "INSERT INTO counters (id, hits) VALUES (1, 0)", &[]);
        let counters = registry.metadata().table("counters").unwrap();
        let engine = db
            .builder()
            .pool_size(4)
            .pool_timeout(Duration::from_secs(30))
            .build()
            .unwrap();

        let tallies: Vec<Tally> = thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|owner| {
                    let (engine, counters) = (&engine, &counters);
                    s.spawn(move || hammer(engine, counters, owner))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        let mut expected = Committed::new();
        let (mut commits, mut rolled_back, mut contention) = (0, 0, 0);
        for t in tallies {
            expected.extend(t.committed);
            commits += t.commits;
            rolled_back += t.rolled_back;
            contention += t.contention;
        }
        eprintln!(
            "{}: {commits} commits, {rolled_back} rolled back, {contention} retried after \
             contention, {} rows",
            db.name(),
            expected.len()
        );
        assert!(
            commits >= i64::from(THREADS),
            "too little work: {commits} commits"
        );

        let found: Committed = checker
            .rows(db, "SELECT owner, seq, id, value FROM hammered", &[])
            .into_iter()
            .map(|row| {
                let int = |v: &Value| match v {
                    Value::Int(i) => *i,
                    other => panic!("not an integer: {other:?}"),
                };
                let key = (int(&row[0]) as i32, int(&row[1]) as i32);
                (key, (int(&row[2]), int(&row[3])))
            })
            .collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(k, v)| found.get(k) != Some(v))
            .collect();
        assert!(
            missing.is_empty(),
            "committed but not found as committed: {missing:?}"
        );
        let extra: Vec<_> = found.keys().filter(|k| !expected.contains_key(k)).collect();
        assert!(extra.is_empty(), "found but never committed: {extra:?}");
        assert_eq!(
            checker.count(db, "SELECT hits FROM counters WHERE id = 1"),
            commits,
            "the counter moved once per commit"
        );
    });
}
