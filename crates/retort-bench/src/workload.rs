//! The six workloads, the trait every implementation implements, and the glue that checks an
//! implementation once and then times it under criterion.

use std::time::Duration;

use criterion::{black_box, BatchSize, Bencher};

use crate::admin::Admin;
use crate::data::{self, Fixture, NewUser};
use crate::BenchResult;

/// The workloads, written once per implementation against the shared schema.
///
/// Each method does the whole unit of work a program would do (the queries, the decoding into
/// the implementation's own structs, the grouping) and returns the loaded rows, which the
/// harness drops inside the timed loop. The associated types are the implementation's own row
/// structs; converting them to [`data`]'s types happens only in the untimed checks.
pub trait Workloads {
    /// The implementation's `users` row.
    type User: Into<data::User>;
    /// The implementation's `posts` row.
    type Post: Into<data::Post>;
    /// The implementation's `comments` row.
    type Comment: Into<data::Comment>;

    /// Loads every row of `users`.
    fn trivial_query(&mut self) -> BenchResult<Vec<Self::User>>;

    /// Whether [`stream_users`](Self::stream_users) is implemented.
    const STREAMS: bool = false;

    /// Reads every row of `users` through the implementation's streaming API, handing each
    /// user to `visit` as it is read, without holding the result; returns how many it read.
    fn stream_users(&mut self, _visit: &mut dyn FnMut(Self::User)) -> BenchResult<usize> {
        Err("this implementation does not stream".into())
    }

    /// Looks each id up by primary key, one query per id, and returns the users in `ids` order.
    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<Self::User>>;

    /// Inserts `users` in one transaction.
    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()>;

    /// `users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = 'black'`
    /// ([`data::BLACK`], bound as a parameter).
    #[allow(clippy::type_complexity)]
    fn medium_complex_query(&mut self) -> BenchResult<Vec<(Self::User, Option<Self::Post>)>>;

    /// Every user with its posts and each post's comments, nested.
    #[allow(clippy::type_complexity)]
    fn loading_associations(
        &mut self,
    ) -> BenchResult<Vec<(Self::User, Vec<(Self::Post, Vec<Self::Comment>)>)>>;
}

/// The workloads that load related rows (posts, comments) along with the users, where an
/// ORM's loading strategy decides which statements run.
pub const RELATIONSHIP_WORKLOADS: &[&str] = &["medium_complex_query", "loading_associations"];

/// One workload at one size, with the data it needs.
#[derive(Debug, Clone)]
pub enum Case {
    /// Load every user of a table of `fixture.users.len()` users.
    TrivialQuery(Fixture),
    /// Read every user of the table through a streaming API, one at a time, holding none.
    StreamQuery(Fixture),
    /// Look up every id of `ids`, one by one.
    QueryById {
        /// The seeded users.
        fixture: Fixture,
        /// The primary keys to look up.
        ids: Vec<i32>,
    },
    /// Insert these users into an empty table, in one transaction.
    Insert(Vec<NewUser>),
    /// The LEFT JOIN over `fixture`.
    MediumComplexQuery(Fixture),
    /// Users, posts and comments into nested structs.
    LoadingAssociations(Fixture),
}

impl Case {
    /// The cases of the issue, in the order they run: trivial_query N = 1, 100, 10 000;
    /// query_by_id 1 000; insert 100 and 1 000; medium_complex_query 1 000 users;
    /// loading_associations 100 users x 10 posts x 10 comments; stream_query 10 000.
    pub fn all() -> Vec<Case> {
        let lookups = Fixture::users(1000);
        let ids = lookups.users.iter().map(|u| u.id).collect();
        vec![
            Case::TrivialQuery(Fixture::users(1)),
            Case::TrivialQuery(Fixture::users(100)),
            Case::TrivialQuery(Fixture::users(10_000)),
            Case::QueryById {
                fixture: lookups,
                ids,
            },
            Case::Insert(data::new_users(100)),
            Case::Insert(data::new_users(1000)),
            Case::MediumComplexQuery(Fixture::users_with_posts(1000)),
            Case::LoadingAssociations(Fixture::users_posts_comments(100, 10, 10)),
            Case::StreamQuery(Fixture::users(10_000)),
        ]
    }

    /// The workload's name, the first part of the criterion group id.
    pub fn name(&self) -> &'static str {
        match self {
            Case::TrivialQuery(_) => "trivial_query",
            Case::StreamQuery(_) => "stream_query",
            Case::QueryById { .. } => "query_by_id",
            Case::Insert(_) => "insert",
            Case::MediumComplexQuery(_) => "medium_complex_query",
            Case::LoadingAssociations(_) => "loading_associations",
        }
    }

    /// How criterion samples this case. Runs of a millisecond or more (the 10 000-row load, the
    /// 1 000 lookups, the 1 000-row insert and the relationship loads, up to a quarter of a
    /// second per run for the slowest implementation) use flat sampling: every sample is the
    /// same number of runs, so a slow implementation needs `sample_size` runs rather than the
    /// `sample_size * (sample_size + 1) / 2` of criterion's linear sampling.
    pub fn sampling(&self) -> Sampling {
        let slow = match self {
            Case::TrivialQuery(f) | Case::StreamQuery(f) => f.users.len() >= 10_000,
            Case::Insert(users) => users.len() >= 1000,
            Case::QueryById { .. } | Case::MediumComplexQuery(_) | Case::LoadingAssociations(_) => {
                true
            }
        };
        if slow {
            Sampling::SLOW
        } else {
            Sampling::FAST
        }
    }

    /// Whether the workload is one of [`RELATIONSHIP_WORKLOADS`].
    pub fn loads_relationships(&self) -> bool {
        RELATIONSHIP_WORKLOADS.contains(&self.name())
    }

    /// The size parameter: users loaded, looked up or inserted.
    pub fn n(&self) -> usize {
        match self {
            Case::TrivialQuery(f)
            | Case::StreamQuery(f)
            | Case::MediumComplexQuery(f)
            | Case::LoadingAssociations(f) => f.users.len(),
            Case::QueryById { ids, .. } => ids.len(),
            Case::Insert(users) => users.len(),
        }
    }

    /// The rows to seed before the case runs (none for inserts).
    pub fn fixture(&self) -> Fixture {
        match self {
            Case::TrivialQuery(f)
            | Case::StreamQuery(f)
            | Case::QueryById { fixture: f, .. }
            | Case::MediumComplexQuery(f)
            | Case::LoadingAssociations(f) => f.clone(),
            Case::Insert(_) => Fixture::default(),
        }
    }
}

/// Criterion's sampling settings for one benchmark group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Samples taken (each one or more timed runs).
    pub sample_size: usize,
    /// Untimed running before the samples.
    pub warm_up: Duration,
    /// The time criterion aims to spend sampling; with flat sampling a slow implementation
    /// takes longer, `sample_size` runs at least.
    pub measurement: Duration,
    /// `SamplingMode::Flat`; otherwise `Auto`, which samples linearly unless that would take
    /// more than twice the measurement time (an `insert` of 100 rows waits for the server's
    /// flush to disk, milliseconds on some machines), and then flat.
    pub flat: bool,
}

impl Sampling {
    /// Runs of microseconds: criterion's linear sampling where it fits the time.
    pub const FAST: Sampling = Sampling {
        sample_size: 60,
        warm_up: Duration::from_secs(1),
        measurement: Duration::from_secs(3),
        flat: false,
    };
    /// Runs of milliseconds: flat sampling.
    pub const SLOW: Sampling = Sampling {
        sample_size: 30,
        warm_up: Duration::from_secs(1),
        measurement: Duration::from_secs(4),
        flat: true,
    };
    /// `run.sh --quick`: enough to see that everything works.
    pub const QUICK: Sampling = Sampling {
        sample_size: 10,
        warm_up: Duration::from_millis(300),
        measurement: Duration::from_millis(700),
        flat: true,
    };
}

/// An implementation as the harness drives it: object-safe, so the list of implementations is a
/// plain `Vec<Box<dyn Runner>>`, while the timed loops inside stay monomorphic.
pub trait Runner {
    /// The criterion function id (`raw`, `diesel`, `retort_orm`, ...).
    fn name(&self) -> &'static str;

    /// Whether this implementation runs `case` at all; the harness neither checks nor times the
    /// others.
    fn runs(&self, case: &Case) -> bool;

    /// Runs `case` once, untimed, and compares the result with the seeded data; an
    /// implementation that fails here is not timed.
    fn check(&mut self, case: &Case, admin: &mut dyn Admin) -> BenchResult<()>;

    /// Times `case`. Panics if the implementation fails mid-measurement: criterion offers no
    /// other way to abort, and a failing implementation must not report a time.
    fn bench(&mut self, case: &Case, b: &mut Bencher<'_>, admin: &mut dyn Admin);

    /// Runs `trivial_query` once and calls `while_held` while its result is still alive (the
    /// memory measurement looks at the heap then); returns the number of rows loaded.
    fn hold_trivial_query(&mut self, while_held: &mut dyn FnMut()) -> BenchResult<usize>;

    /// Runs `stream_query` once, dropping each user as it comes; returns the number read.
    fn stream_all(&mut self) -> BenchResult<usize>;
}

/// Wraps a [`Workloads`] implementation under its criterion function id.
pub fn runner<W: Workloads + 'static>(name: &'static str, workloads: W) -> Box<dyn Runner> {
    runner_for(name, workloads, |_| true)
}

/// Like [`runner`], for an implementation that runs only the cases `runs` accepts (a variant
/// that differs from another only on some workloads).
pub fn runner_for<W: Workloads + 'static>(
    name: &'static str,
    workloads: W,
    runs: fn(&Case) -> bool,
) -> Box<dyn Runner> {
    Box::new(Named {
        name,
        workloads,
        runs,
    })
}

struct Named<W> {
    name: &'static str,
    workloads: W,
    runs: fn(&Case) -> bool,
}

/// Unwraps a timed call's result; see [`Runner::bench`] for why this panics.
fn must<T>(name: &str, case: &str, result: BenchResult<T>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{name} failed during {case}: {e}"),
    }
}

fn mismatch<T: std::fmt::Debug>(what: &str, got: &T, expected: &T) -> BenchResult<()> {
    let got = format!("{got:?}");
    let expected = format!("{expected:?}");
    let cut = |s: &str| s.chars().take(300).collect::<String>();
    Err(format!(
        "{what}: result differs from the seeded data\n  got:      {}\n  expected: {}",
        cut(&got),
        cut(&expected)
    )
    .into())
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, expected: T) -> BenchResult<()> {
    if got == expected {
        Ok(())
    } else {
        mismatch(what, &got, &expected)
    }
}

impl<W: Workloads> Runner for Named<W> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn runs(&self, case: &Case) -> bool {
        (W::STREAMS || !matches!(case, Case::StreamQuery(_))) && (self.runs)(case)
    }

    fn check(&mut self, case: &Case, admin: &mut dyn Admin) -> BenchResult<()> {
        let what = format!("{} on {}", self.name, case.name());
        match case {
            Case::TrivialQuery(fixture) => {
                let mut got: Vec<data::User> = self
                    .workloads
                    .trivial_query()?
                    .into_iter()
                    .map(Into::into)
                    .collect();
                got.sort_by_key(|u| u.id);
                same(&what, &got, &fixture.users)
            }
            Case::StreamQuery(fixture) => {
                let mut got: Vec<data::User> = Vec::new();
                let read = self.workloads.stream_users(&mut |u| got.push(u.into()))?;
                same(&format!("{what}: users read"), read, got.len())?;
                got.sort_by_key(|u| u.id);
                same(&what, &got, &fixture.users)
            }
            Case::QueryById { fixture, ids } => {
                let got: Vec<data::User> = self
                    .workloads
                    .query_by_id(ids)?
                    .into_iter()
                    .map(Into::into)
                    .collect();
                let expected: Vec<&data::User> = ids
                    .iter()
                    .filter_map(|id| fixture.users.iter().find(|u| u.id == *id))
                    .collect();
                same(&what, got.iter().collect::<Vec<_>>(), expected)
            }
            Case::Insert(users) => {
                admin.clear_users()?;
                self.workloads.insert_users(users)?;
                let stored = admin.users()?;
                let got: Vec<(&str, Option<&str>)> = stored
                    .iter()
                    .map(|u| (u.name.as_str(), u.hair_color.as_deref()))
                    .collect();
                let expected: Vec<(&str, Option<&str>)> = users
                    .iter()
                    .map(|u| (u.name.as_str(), u.hair_color.as_deref()))
                    .collect();
                same(&what, got, expected)
            }
            Case::MediumComplexQuery(fixture) => {
                let mut got: Vec<data::UserWithPost> = self
                    .workloads
                    .medium_complex_query()?
                    .into_iter()
                    .map(|(u, p)| (u.into(), p.map(Into::into)))
                    .collect();
                data::sort_medium(&mut got);
                same(&what, got, fixture.expected_medium())
            }
            Case::LoadingAssociations(fixture) => {
                let mut got: Vec<data::UserTree> = self
                    .workloads
                    .loading_associations()?
                    .into_iter()
                    .map(|(u, posts)| {
                        let posts = posts
                            .into_iter()
                            .map(|(p, cs)| (p.into(), cs.into_iter().map(Into::into).collect()))
                            .collect();
                        (u.into(), posts)
                    })
                    .collect();
                data::sort_trees(&mut got);
                same(&what, got, fixture.expected_trees())
            }
        }
    }

    fn hold_trivial_query(&mut self, while_held: &mut dyn FnMut()) -> BenchResult<usize> {
        let users = self.workloads.trivial_query()?;
        while_held();
        Ok(black_box(users).len())
    }

    fn stream_all(&mut self) -> BenchResult<usize> {
        self.workloads
            .stream_users(&mut |user| drop(black_box(user)))
    }

    fn bench(&mut self, case: &Case, b: &mut Bencher<'_>, admin: &mut dyn Admin) {
        let name = self.name;
        let workloads = &mut self.workloads;
        let label = case.name();
        match case {
            Case::TrivialQuery(_) => b.iter(|| must(name, label, workloads.trivial_query())),
            Case::StreamQuery(_) => b.iter(|| {
                must(
                    name,
                    label,
                    workloads.stream_users(&mut |user| drop(black_box(user))),
                )
            }),
            Case::QueryById { ids, .. } => {
                b.iter(|| must(name, label, workloads.query_by_id(black_box(ids))))
            }
            Case::Insert(users) => b.iter_batched(
                // Each timed batch starts from an empty table; the DELETE is not timed.
                || must("admin", label, admin.clear_users()),
                |()| must(name, label, workloads.insert_users(black_box(users))),
                BatchSize::PerIteration,
            ),
            Case::MediumComplexQuery(_) => {
                b.iter(|| must(name, label, workloads.medium_complex_query()))
            }
            Case::LoadingAssociations(_) => {
                b.iter(|| must(name, label, workloads.loading_associations()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns what it was built with, whatever the database holds.
    struct Canned {
        users: Vec<data::User>,
        inserts: bool,
    }

    impl Workloads for Canned {
        type User = data::User;
        type Post = data::Post;
        type Comment = data::Comment;

        fn trivial_query(&mut self) -> BenchResult<Vec<data::User>> {
            Ok(self.users.clone())
        }

        const STREAMS: bool = true;

        fn stream_users(&mut self, visit: &mut dyn FnMut(data::User)) -> BenchResult<usize> {
            self.users.iter().cloned().for_each(visit);
            Ok(self.users.len())
        }

        fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<data::User>> {
            Ok(self.users.iter().take(ids.len()).cloned().collect())
        }

        fn insert_users(&mut self, _users: &[NewUser]) -> BenchResult<()> {
            if self.inserts {
                Ok(())
            } else {
                Err("refused".into())
            }
        }

        fn medium_complex_query(&mut self) -> BenchResult<Vec<data::UserWithPost>> {
            Ok(Vec::new())
        }

        fn loading_associations(&mut self) -> BenchResult<Vec<data::UserTree>> {
            Ok(Vec::new())
        }
    }

    fn sqlite_admin() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.create_schema().unwrap();
        conn
    }

    #[test]
    fn checks_accept_right_rows_in_any_order_and_refuse_wrong_ones() {
        let mut admin = sqlite_admin();
        let fixture = Fixture::users(3);
        let case = Case::TrivialQuery(fixture.clone());
        let stream = Case::StreamQuery(fixture.clone());
        let mut reversed = fixture.users.clone();
        reversed.reverse();
        let mut right = runner(
            "right",
            Canned {
                users: reversed,
                inserts: true,
            },
        );
        assert!(right.check(&case, &mut admin).is_ok());
        assert!(right.runs(&stream));
        assert!(right.check(&stream, &mut admin).is_ok());

        let mut short = fixture.users.clone();
        short.pop();
        let mut wrong = runner(
            "short",
            Canned {
                users: short,
                inserts: true,
            },
        );
        assert!(wrong.check(&case, &mut admin).is_err());

        assert!(wrong.check(&stream, &mut admin).is_err());

        let mut renamed = fixture.users.clone();
        renamed[1].name.push('!');
        let mut wrong = runner(
            "renamed",
            Canned {
                users: renamed,
                inserts: true,
            },
        );
        assert!(wrong.check(&case, &mut admin).is_err());
        assert!(wrong.check(&stream, &mut admin).is_err());
    }

    #[test]
    fn insert_check_reads_the_table_back() {
        let mut admin = sqlite_admin();
        let case = Case::Insert(data::new_users(5));
        // Claims success but writes nothing: the read-back catches it.
        let mut lazy = runner(
            "lazy",
            Canned {
                users: Vec::new(),
                inserts: true,
            },
        );
        assert!(lazy.check(&case, &mut admin).is_err());
        let mut failing = runner(
            "failing",
            Canned {
                users: Vec::new(),
                inserts: false,
            },
        );
        assert!(failing.check(&case, &mut admin).is_err());
    }

    #[test]
    fn empty_results_fail_the_join_and_nested_checks() {
        let mut admin = sqlite_admin();
        let mut canned = runner(
            "empty",
            Canned {
                users: Vec::new(),
                inserts: true,
            },
        );
        let medium = Case::MediumComplexQuery(Fixture::users_with_posts(10));
        assert!(canned.check(&medium, &mut admin).is_err());
        let nested = Case::LoadingAssociations(Fixture::users_posts_comments(2, 2, 2));
        assert!(canned.check(&nested, &mut admin).is_err());
    }

    #[test]
    fn cases_cover_the_issue_sizes() {
        let sizes: Vec<(&str, usize)> = Case::all().iter().map(|c| (c.name(), c.n())).collect();
        assert_eq!(
            sizes,
            [
                ("trivial_query", 1),
                ("trivial_query", 100),
                ("trivial_query", 10_000),
                ("query_by_id", 1000),
                ("insert", 100),
                ("insert", 1000),
                ("medium_complex_query", 1000),
                ("loading_associations", 100),
                ("stream_query", 10_000),
            ]
        );
    }
}
