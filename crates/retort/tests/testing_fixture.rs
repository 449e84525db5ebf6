//! The test fixture users get, `#[retort::test]` and `retort::testing`, on SQLite, PostgreSQL
//! and MariaDB: the tables a test starts with, one database per test, removal afterwards (also
//! after a panic), what a failing test reports, and the skip-or-fail policy for a server that
//! cannot be reached.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;

use retort::prelude::*;
use retort::testing::{run, Backend, TestDatabase, POSTGRES_URL_VAR, REQUIRE_ALL_VAR};

#[derive(Model, Debug, Default)]
#[retort(table = "notes")]
pub struct Note {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub body: String,
}

#[derive(Model, Debug, Default)]
#[retort(table = "tags")]
pub struct Tag {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "notes.id")]
    pub note_id: Option<i64>,
}

fn table_names(db: &TestDatabase) -> Result<Vec<String>> {
    db.engine().connect()?.inspect().table_names(None)
}

fn bodies(db: &TestDatabase) -> Result<Vec<String>> {
    let session = Session::new(db.engine());
    let notes = session.query::<Note>().order_by(Note::id.asc()).all()?;
    notes.iter().map(|n| Ok(n.read()?.body.clone())).collect()
}

fn add_note(db: &TestDatabase, id: i64, body: &str) -> Result<()> {
    let session = Session::new(db.engine());
    session.add(Note {
        id: Some(id),
        body: body.into(),
    });
    session.commit()
}

/// Whether the database `name` on `backend` exists, asked of the server's catalog (or the file
/// system for SQLite) from outside the fixture.
fn exists(backend: Backend, name: &str) -> Result<bool> {
    let sql = match backend {
        Backend::Sqlite => return Ok(Path::new(name).exists()),
        Backend::Postgres => {
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1"
        }
        Backend::MySql => "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    };
    let url = backend.server_url().unwrap_or_default();
    let n: i64 = create_engine(url.as_str())?
        .connect()?
        .exec_driver_sql(sql, &[name.into()])?
        .scalar()?;
    Ok(n == 1)
}

#[retort::test(sqlite, postgres, mysql)]
fn starts_with_a_table_per_model(db: TestDatabase) -> Result<()> {
    assert_eq!(table_names(&db)?, ["notes", "tags"], "{}", db.name());
    assert_eq!(bodies(&db)?, Vec::<String>::new());
    Ok(())
}

#[retort::test(sqlite, postgres, mysql, tables = false)]
fn tables_false_starts_empty(db: TestDatabase) -> Result<()> {
    assert_eq!(table_names(&db)?, Vec::<String>::new(), "{}", db.name());
    Ok(())
}

fn notes_only() -> Result<MetaData> {
    let registry = Registry::new();
    registry.register::<Note>()?;
    Ok(registry.metadata().clone())
}

#[retort::test(sqlite, postgres, mysql, metadata = notes_only)]
fn metadata_chooses_the_tables(db: TestDatabase) -> Result<()> {
    assert_eq!(table_names(&db)?, ["notes"], "{}", db.name());
    Ok(())
}

// Each test's database is its own: a second one made beside it, as a test running at the same
// time would get, starts empty and keeps its rows apart.
#[retort::test(sqlite, postgres, mysql)]
fn two_databases_at_once_do_not_share_rows(db: TestDatabase) -> Result<()> {
    let other = TestDatabase::create(db.backend())?.with_tables(&Base::metadata()?)?;
    assert_ne!(db.database_name(), other.database_name());
    add_note(&db, 1, "mine")?;
    assert_eq!(bodies(&other)?, Vec::<String>::new(), "{}", db.name());
    add_note(&other, 1, "theirs")?;
    assert_eq!(bodies(&db)?, ["mine"], "{}", db.name());
    assert_eq!(bodies(&other)?, ["theirs"], "{}", db.name());
    Ok(())
}

#[retort::test(sqlite, postgres, mysql)]
fn dropping_removes_the_database(db: TestDatabase) -> Result<()> {
    let (backend, name) = (db.backend(), db.database_name());
    assert!(
        exists(backend, &name)?,
        "{backend}: {name} is not there to begin with"
    );
    drop(db);
    assert!(!exists(backend, &name)?, "{backend}: {name} is left behind");
    Ok(())
}

// A test may also return nothing.
#[retort::test]
fn sqlite_when_no_backend_is_named(db: TestDatabase) {
    assert_eq!(db.backend(), Backend::Sqlite);
}

#[test]
fn a_panicking_test_still_removes_its_database() {
    for backend in Backend::ALL {
        let mut name = None;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run::<()>(backend, None, |db| {
                db.engine().connect().unwrap(); // SQLite makes its file on the first connection
                name = Some(db.database_name());
                panic!("the test panics");
            })
        }));
        assert!(outcome.is_err(), "{backend}: the panic was swallowed");
        // `None`: the backend was skipped (unreachable, and not required).
        if let Some(name) = name {
            assert!(
                !exists(backend, &name).unwrap(),
                "{backend}: {name} is left behind"
            );
        }
    }
}

#[test]
fn a_removal_that_fails_is_reported_not_panicked() {
    // In a child process of this test binary: the report goes to its stderr.
    if std::env::var_os("RETORT_FIXTURE_CHILD").is_some() {
        let db = TestDatabase::create(Backend::Sqlite).unwrap();
        // A directory where the database file would be: removing the "file" fails.
        let path = std::path::PathBuf::from(db.database_name());
        std::fs::create_dir(&path).unwrap();
        drop(db);
        assert!(path.is_dir());
        std::fs::remove_dir(&path).unwrap();
        return;
    }
    let (passed, stdout, stderr) = run_alone(
        "a_removal_that_fails_is_reported_not_panicked",
        &[("RETORT_FIXTURE_CHILD", Some("1"))],
    );
    assert!(passed, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        stderr.contains("retort: could not remove the test file ") && stderr.contains(".db: "),
        "{stderr}"
    );
}

#[test]
fn a_failing_test_reports_its_error_and_backend() {
    let failure = run(Backend::Sqlite, None, |_| {
        Err::<(), _>("the total is 3, not 4")
    })
    .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "the test failed on sqlite: the total is 3, not 4"
    );
    // The harness prints a failing test's `Err` with `Debug`: the same plain message.
    assert_eq!(format!("{failure:?}"), failure.to_string());

    let broken = || Err(Error::Argument("no such model".into()));
    let failure = run(Backend::Sqlite, Some(broken), |_| ()).unwrap_err();
    assert_eq!(
        failure.to_string(),
        "could not create the tables on sqlite: ArgumentError: no such model"
    );
}

#[retort::test(postgres, tables = false)]
fn reached_through_the_environment(db: TestDatabase) {
    assert_eq!(db.backend(), Backend::Postgres);
}

/// Runs test `name` of this binary alone in a child process, with `env` set (`None`: unset):
/// whether it passed, its stdout and its stderr.
fn run_alone(name: &str, env: &[(&str, Option<&str>)]) -> (bool, String, String) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args(["--exact", name]);
    for (key, value) in env {
        match value {
            Some(value) => child.env(key, value),
            None => child.env_remove(key),
        };
    }
    let out = child.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Runs `reached_through_the_environment::postgres` with the PostgreSQL server at a port
/// nothing listens on.
fn run_with_server_down(require_all: bool) -> (bool, String, String) {
    run_alone(
        "reached_through_the_environment::postgres",
        &[
            (
                POSTGRES_URL_VAR,
                Some("postgresql://postgres@127.0.0.1:1/test"),
            ),
            (REQUIRE_ALL_VAR, require_all.then_some("1")),
        ],
    )
}

#[test]
fn an_unreachable_server_is_skipped_loudly_or_fails_when_required() {
    let (passed, stdout, stderr) = run_with_server_down(false);
    assert!(passed, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    // Shown although the test passed: written past the harness's capture.
    assert!(
        stderr.contains(
            "retort: SKIPPED reached_through_the_environment::postgres on postgresql: cannot \
             connect to postgresql://postgres@127.0.0.1:1/test: "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("set RETORT_REQUIRE_ALL_BACKENDS=1 to make this a failure"),
        "{stderr}"
    );

    let (passed, stdout, _) = run_with_server_down(true);
    assert!(!passed, "{stdout}");
    assert!(
        stdout.contains(
            "Error: postgresql is required (RETORT_REQUIRE_ALL_BACKENDS=1) and retort cannot \
             connect to postgresql://postgres@127.0.0.1:1/test: "
        ),
        "{stdout}"
    );
}
