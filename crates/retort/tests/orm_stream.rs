//! `Session::stream` and `Query::yield_per`: a query's objects built a batch at a time as the
//! rows arrive, the session keeping only the objects someone still uses, and the session's
//! connection lent to the stream until it ends — anything else that needs the database is
//! refused meanwhile and changes nothing.

mod common;
mod rel;

use common::*;
use rel::{Author, Book};
use retort::orm::ModelSelect;
use retort::prelude::*;
use retort_testkit::for_each_backend;

fn seed(db: &retort_testkit::TestDb, n: usize) -> Checker {
    create_tables(db, &[Registry::register::<User>]);
    let checker = Checker::new(db);
    let users: Vec<(String, i32)> = (1..=n).map(|i| (format!("u{i:02}"), i as i32)).collect();
    let users: Vec<(&str, i32)> = users.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    seed_users(db, &checker, &users);
    checker
}

fn by_id() -> ModelSelect<User> {
    User::select().order_by(User::id)
}

fn name(user: &Obj<User>) -> String {
    user.read().unwrap().name.clone().unwrap()
}

fn is_lent_error(err: &Error) -> bool {
    matches!(err, Error::InvalidRequest(m) if m.contains("Session::stream"))
}

#[test]
fn objects_arrive_in_order_from_one_select_a_batch_at_a_time() {
    for_each_backend(|db| {
        seed(db, 25);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let names: Vec<String> = session
            .stream(&by_id(), 10)
            .unwrap()
            .map(|user| name(&user.unwrap()))
            .collect();
        let expected: Vec<String> = (1..=25).map(|i| format!("u{i:02}")).collect();
        assert_eq!(names, expected);
        assert_eq!(capture.count("SELECT"), 1);

        let sizes: Vec<usize> = session
            .stream(&by_id(), 10)
            .unwrap()
            .partitions()
            .map(|batch| batch.unwrap().len())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);

        // A batch size larger than any result is one batch.
        let sizes: Vec<usize> = session
            .stream(&by_id(), usize::MAX)
            .unwrap()
            .partitions()
            .map(|batch| batch.unwrap().len())
            .collect();
        assert_eq!(sizes, [25]);

        // A partly read stream's partitions start with the objects not yet taken.
        let mut stream = session.stream(&by_id(), 10).unwrap();
        assert_eq!(name(&stream.next().unwrap().unwrap()), "u01");
        let batches: Vec<Vec<String>> = stream
            .partitions()
            .map(|batch| batch.unwrap().iter().map(name).collect())
            .collect();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [9, 10, 5]);
        assert_eq!(batches[0][0], "u02");

        // The legacy query API, with its filter and order.
        let old: Vec<i32> = session
            .query::<User>()
            .filter(User::age.gt(20))
            .order_by(User::age.desc())
            .yield_per(2)
            .unwrap()
            .map(|user| user.unwrap().read().unwrap().age.unwrap())
            .collect();
        assert_eq!(old, [25, 24, 23, 22, 21]);
    });
}

#[test]
fn objects_no_one_holds_leave_the_session_and_held_or_changed_ones_stay() {
    for_each_backend(|db| {
        let checker = seed(db, 30);
        let session = Session::new(db.engine());
        let mut held = None;
        let mut most = 0;
        for user in session.stream(&by_id(), 10).unwrap() {
            let user = user.unwrap();
            let id = user.read().unwrap().id.unwrap();
            if id == 5 {
                held = Some(user.clone());
            }
            if id == 12 {
                user.write().unwrap().name = Some("changed".into());
            }
            most = most.max(session.identity_count());
        }
        // At most the batch being read and the one before it are in the map at once.
        assert!(most <= 20, "{most} objects in the session while streaming");
        // Afterwards: the held one and the changed one.
        assert_eq!(session.identity_count(), 2);

        let held = held.unwrap();
        let capture = Capture::install(db.engine());
        let again = session.get::<User>(5).unwrap().unwrap();
        assert!(
            again.ptr_eq(&held),
            "the held object is still the session's"
        );
        assert!(capture.take().is_empty(), "found without SQL");

        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name FROM users WHERE id = 12", &[]),
            [[txt("changed")]],
            "the change made while streaming was flushed"
        );
    });
}

#[test]
fn objects_the_session_had_are_the_ones_streamed_and_stay() {
    for_each_backend(|db| {
        seed(db, 6);
        let session = Session::new(db.engine());
        let third = session.get::<User>(3).unwrap().unwrap();
        third.write().unwrap().age = Some(99);
        let mut streamed = None;
        // The unflushed change is flushed first, and the streamed row is the same object.
        for user in session.stream(&by_id(), 2).unwrap() {
            let user = user.unwrap();
            if user.read().unwrap().id == Some(3) {
                streamed = Some(user);
            }
        }
        let streamed = streamed.unwrap();
        assert!(streamed.ptr_eq(&third));
        assert_eq!(streamed.read().unwrap().age, Some(99));
        drop(streamed);
        // It was in the session before the stream: it stays, though only `third` holds it.
        assert_eq!(session.identity_count(), 1);
    });
}

#[test]
fn pending_objects_are_flushed_first_and_streamed() {
    for_each_backend(|db| {
        seed(db, 3);
        let session = Session::new(db.engine());
        let new = session.add(User::named("new", 50));
        let capture = Capture::install(db.engine());
        let names: Vec<String> = session
            .stream(&by_id(), 2)
            .unwrap()
            .map(|u| name(&u.unwrap()))
            .collect();
        assert_eq!(names, ["u01", "u02", "u03", "new"]);
        let sent = capture.take();
        assert_eq!(kinds(&sent).last(), Some(&"SELECT"));
        assert!(kinds(&sent).contains(&"INSERT"));
        assert_eq!(new.state(), ObjectState::Persistent);
    });
}

#[test]
fn while_streaming_the_database_is_refused_and_nothing_changes() {
    for_each_backend(|db| {
        let checker = seed(db, 10);
        let session = Session::new(db.engine());
        let first = session.get::<User>(1).unwrap().unwrap();
        let mut stream = session.stream(&by_id(), 4).unwrap();
        let streamed = stream.next().unwrap().unwrap();
        assert!(streamed.ptr_eq(&first));

        // Nothing that needs the database runs, and each refusal leaves the session as it was.
        assert!(is_lent_error(&session.query::<User>().all().unwrap_err()));
        assert!(is_lent_error(&session.get::<User>(9).unwrap_err()));
        assert!(is_lent_error(
            &session.execute(&text("SELECT 1")).unwrap_err()
        ));
        assert!(is_lent_error(&session.stream(&by_id(), 1).err().unwrap()));
        assert!(is_lent_error(&session.commit().unwrap_err()));
        let pending = session.add(User::named("pending", 1));
        assert!(is_lent_error(&session.flush().unwrap_err()));
        assert!(is_lent_error(&session.commit().unwrap_err()));
        assert!(is_lent_error(&session.rollback().unwrap_err()));
        assert!(is_lent_error(&session.close().unwrap_err()));
        assert_eq!(pending.state(), ObjectState::Pending);

        // Streamed objects can be read and written, and an object the session has is found.
        streamed.write().unwrap().name = Some("first".into());
        assert!(session.get::<User>(1).unwrap().unwrap().ptr_eq(&first));

        // Dropped early: the connection is back, in the same transaction.
        assert_eq!(stream.next().unwrap().unwrap().read().unwrap().id, Some(2));
        drop(stream);
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name FROM users WHERE id = 1", &[]),
            [[txt("first")]]
        );
        assert_eq!(
            checker.count(db, "SELECT count(*) FROM users WHERE name = 'pending'"),
            1
        );
    });
}

#[test]
fn a_dropped_stream_gives_back_the_transaction_it_borrowed() {
    for_each_backend(|db| {
        let checker = seed(db, 10);
        let session = Session::new(db.engine());
        session.add(User::named("flushed", 1));
        session.flush().unwrap();
        let taken = session.stream(&by_id(), 3).unwrap().take(2).count();
        assert_eq!(taken, 2);
        // The flushed row is seen by the session's transaction and by no one else yet.
        assert_eq!(session.query::<User>().count().unwrap(), 11);
        session.rollback().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 10);
        assert_eq!(session.query::<User>().count().unwrap(), 10);
    });
}

#[test]
fn ending_a_savepoint_while_streaming_is_refused() {
    for_each_backend(|db| {
        let checker = seed(db, 4);
        let session = Session::new(db.engine());

        // Committing it is refused and changes nothing: its work stays in the transaction.
        let nested = session.begin_nested().unwrap();
        session.add(User::named("kept", 1));
        session.flush().unwrap();
        let mut stream = session.stream(&by_id(), 2).unwrap();
        stream.next().unwrap().unwrap();
        assert!(is_lent_error(&nested.commit().unwrap_err()));
        drop(stream);
        session.commit().unwrap();
        assert_eq!(
            checker.count(db, "SELECT count(*) FROM users WHERE name = 'kept'"),
            1
        );

        // Rolling one back cannot be done: the session asks for a full rollback.
        let nested = session.begin_nested().unwrap();
        session.add(User::named("lost", 1));
        session.flush().unwrap();
        let mut stream = session.stream(&by_id(), 2).unwrap();
        stream.next().unwrap().unwrap();
        assert!(is_lent_error(&nested.rollback().unwrap_err()));
        drop(stream);
        assert!(matches!(
            session.query::<User>().all().unwrap_err(),
            Error::PendingRollback(_)
        ));
        session.rollback().unwrap();
        assert_eq!(
            checker.count(db, "SELECT count(*) FROM users WHERE name = 'lost'"),
            0
        );
        assert_eq!(session.query::<User>().count().unwrap(), 5);
    });
}

#[test]
fn eager_loaders_are_refused_and_relationships_load_after_the_stream() {
    for_each_backend(|db| {
        rel::create_all(db);
        rel::seed_library(db);
        let session = Session::new(db.engine());

        let eager = Author::select().options(selectinload(Author::books));
        let err = session.stream(&eager, 2).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidRequest(m) if m.contains("Author.books")),
            "{err}"
        );

        let mut stream = session
            .stream(&Author::select().order_by(Author::id), 2)
            .unwrap();
        let ann = stream.next().unwrap().unwrap();
        // A lazy load needs the connection the stream has.
        assert!(is_lent_error(&ann.read().unwrap().books.get().unwrap_err()));
        drop(stream);
        assert_eq!(
            rel::titles(&ann.read().unwrap().books.get().unwrap()),
            ["a1", "b1", "c1"]
        );

        // Deferred loaders apply to the streamed objects.
        let raising = Book::select()
            .order_by(Book::id)
            .options(raiseload(Book::author));
        let books: Vec<Obj<Book>> = session
            .stream(&raising, 4)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(books.len(), 9);
        let err = books[0].read().unwrap().author.get().unwrap_err();
        assert!(err.to_string().contains("Book.author"), "{err}");
        drop(books);
        // Loaded lazily: an author the session has needs no SQL, even while streaming; one it
        // does not have waits for the stream's end.
        let lazy = Book::select()
            .order_by(Book::id)
            .options(lazyload(Book::author));
        let mut stream = session.stream(&lazy, 4).unwrap();
        let first = stream.next().unwrap().unwrap();
        let author = first.read().unwrap().author.get().unwrap().unwrap();
        assert!(author.ptr_eq(&ann));
        let last = stream.nth(7).unwrap().unwrap();
        let err = last.read().unwrap().author.get().unwrap_err();
        assert!(is_lent_error(&err), "{err}");
        drop(stream);
        let author = last.read().unwrap().author.get().unwrap().unwrap();
        assert_eq!(author.read().unwrap().name.as_deref(), Some("Cy"));
    });
}

/// A table whose `n` may hold NULL, mapped by a model that says it cannot.
#[derive(Model, Debug, Default)]
#[retort(table = "strict_rows")]
pub struct Strict {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub n: i32,
}

#[test]
fn a_row_that_fails_to_load_ends_the_stream_and_the_session_goes_on() {
    for_each_backend(|db| {
        let checker = seed(db, 2);
        checker.exec(
            db,
            "CREATE TABLE strict_rows (id INTEGER PRIMARY KEY, n INTEGER)",
            &[],
        );
        checker.exec(
            db,
            "INSERT INTO strict_rows (id, n) VALUES (1, 1), (2, NULL), (3, 3)",
            &[],
        );
        Registry::new().register::<Strict>().unwrap();
        let session = Session::new(db.engine());
        let mut stream = session
            .stream(&Strict::select().order_by(Strict::id), 1)
            .unwrap();
        assert_eq!(stream.next().unwrap().unwrap().read().unwrap().n, 1);
        let err = stream.next().unwrap().unwrap_err();
        assert!(
            matches!(&err, Error::Conversion(m) if m.contains("NULL")),
            "{err:?}"
        );
        assert!(
            stream.next().is_none(),
            "an error is the stream's last item"
        );
        // The connection is back before the stream is dropped.
        assert_eq!(session.query::<User>().count().unwrap(), 2);
        drop(stream);

        assert!(matches!(
            session.stream(&by_id(), 0).err().unwrap(),
            Error::Argument(_)
        ));
        // A statement the database refuses is the call's error; the session goes on after a
        // rollback (PostgreSQL aborts the transaction).
        let missing = User::select().filter(text("no_such_column = 1"));
        assert!(matches!(
            session.stream(&missing, 5).err().unwrap(),
            Error::Programming(_)
        ));
        session.rollback().unwrap();
        assert_eq!(session.stream(&by_id(), 5).unwrap().count(), 2);
    });
}

#[test]
fn a_listener_that_panics_on_the_reader_costs_the_transaction_not_the_session() {
    for_each_backend(|db| {
        let checker = seed(db, 3);
        db.engine().on_execute(|sql, _| {
            assert!(!sql.contains("'boom'"), "a listener refuses the statement");
        });
        let session = Session::new(db.engine());
        let unsaved = session.add(User::named("unsaved", 1));
        session.flush().unwrap();
        let boom = User::select().filter(text("'boom' = 'boom'"));
        let err = session.stream(&boom, 2).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidRequest(m) if m.contains("panicked")),
            "{err}"
        );
        // The transaction went with the connection: the session says so until rolled back.
        assert!(matches!(
            session.query::<User>().all().unwrap_err(),
            Error::PendingRollback(_)
        ));
        session.rollback().unwrap();
        assert_eq!(unsaved.state(), ObjectState::Transient);
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 3);
        assert_eq!(session.stream(&by_id(), 2).unwrap().count(), 3);
    });
}
