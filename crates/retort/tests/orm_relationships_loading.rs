//! Eager loading and loader options — joinedload, selectinload, raiseload, noload,
//! contains_eager, nested chains, and relationships' own `lazy` — with the exact number of
//! statements each sends, on SQLite, PostgreSQL and MariaDB.

mod common;
mod rel;

use common::{create_tables, Capture, Checker};
use rel::*;
use retort::orm::{
    contains_eager, joinedload, lazyload, noload, raiseload, selectinload, Many, One, Registry,
};
use retort::prelude::*;
use retort_testkit::for_each_backend;

fn names(tags: &[Obj<Tag>]) -> Vec<String> {
    tags.iter()
        .map(|t| t.read().unwrap().name.clone().unwrap_or_default())
        .collect()
}

/// Every author's books, read without SQL (asserted by the caller).
fn all_titles(authors: &[Obj<Author>]) -> Vec<Vec<String>> {
    authors
        .iter()
        .map(|a| titles(&a.read().unwrap().books.get().unwrap()))
        .collect()
}

fn expected_titles() -> Vec<Vec<String>> {
    (1..=3)
        .map(|n| vec![format!("a{n}"), format!("b{n}"), format!("c{n}")])
        .collect()
}

#[test]
fn joinedload_is_one_select_with_parents_once_and_children_ordered() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .options(joinedload(Author::books))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(authors.len(), 3, "nine rows fold into three authors");
        assert_eq!(all_titles(&authors), expected_titles());
        let sent = capture.take();
        assert_eq!(
            sent.iter().filter(|s| s.starts_with("SELECT")).count(),
            1,
            "{sent:#?}"
        );
        let select = sent.iter().find(|s| s.starts_with("SELECT")).unwrap();
        assert!(
            select.contains("LEFT OUTER JOIN") && select.contains("books_1"),
            "{select}"
        );
        // The joined books are the session's objects: one row, one object.
        let a1 = session.get::<Book>(2).unwrap().unwrap();
        assert!(a1.ptr_eq(&authors[0].read().unwrap().books.get().unwrap()[0]));
        assert!(capture.take().is_empty(), "the book is in the identity map");
    });
}

#[test]
fn joinedload_under_a_limit_limits_parents_not_rows() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .options(joinedload(Author::books))
            .order_by(Author::id.desc())
            .limit(2)
            .all()
            .unwrap();
        let names: Vec<Option<String>> = authors
            .iter()
            .map(|a| a.read().unwrap().name.clone())
            .collect();
        assert_eq!(names, vec![Some("Cy".into()), Some("Ben".into())]);
        assert_eq!(
            all_titles(&authors),
            vec![vec!["a3", "b3", "c3"], vec!["a2", "b2", "c2"]]
        );
        let first = session
            .query::<Author>()
            .options(joinedload(Author::books))
            .order_by(Author::name)
            .first()
            .unwrap()
            .unwrap();
        assert_eq!(first.read().unwrap().books.get().unwrap().len(), 3);
        assert_eq!(capture.count("SELECT"), 2, "{:#?}", capture.take());
    });
}

#[test]
fn selectinload_is_two_selects() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .options(selectinload(Author::books))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(all_titles(&authors), expected_titles());
        let sent = capture.take_with_params();
        let selects: Vec<_> = sent
            .iter()
            .filter(|(s, _)| s.starts_with("SELECT"))
            .collect();
        assert_eq!(selects.len(), 2, "{sent:#?}");
        // PostgreSQL binds a list of integer keys as one array.
        let (keys, params) = if db.name() == "postgresql" {
            (" = ANY($1)", vec![Value::Text("{1,2,3}".into())])
        } else {
            (" IN (", vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        };
        assert!(selects[1].0.contains(keys), "{}", selects[1].0);
        assert_eq!(selects[1].1, params);
    });
}

#[test]
fn selectinload_chunks_keys_under_the_parameter_limit() {
    for_each_backend(|db| {
        create_all(db);
        let checker = Checker::new(db);
        let values: Vec<String> = (0..1200).map(|i| format!("('author {i}')")).collect();
        checker.exec(
            db,
            &format!("INSERT INTO authors (name) VALUES {}", values.join(", ")),
            &[],
        );
        checker.exec(
            db,
            "INSERT INTO books (title, author_id) VALUES ('last', 1200)",
            &[],
        );
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .options(selectinload(Author::books))
            .all()
            .unwrap();
        assert_eq!(authors.len(), 1200);
        let selects = capture.count("SELECT");
        assert!(
            selects >= 3,
            "1200 keys need more than one IN list: {selects} SELECTs"
        );
        let max = db.engine().dialect().capabilities().max_params;
        for (sql, params) in capture.take_with_params() {
            assert!(params.len() <= max, "{} parameters in {sql}", params.len());
        }
        let last = authors
            .iter()
            .find(|a| a.read().unwrap().id == Some(1200))
            .unwrap();
        assert_eq!(
            titles(&last.read().unwrap().books.get().unwrap()),
            vec!["last"]
        );
        assert_eq!(capture.count("SELECT"), 0, "loaded already");
    });
}

#[test]
fn raiseload_raises_without_sql_and_noload_stays_empty() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let authors = session
            .query::<Author>()
            .options(raiseload(Author::books))
            .all()
            .unwrap();
        let capture = Capture::install(db.engine());
        let err = authors[0].read().unwrap().books.get().unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains("Author.books"), "{err}");
        assert!(capture.take().is_empty(), "raiseload sends nothing");

        let session = Session::new(db.engine());
        let books = session
            .query::<Book>()
            .options(noload(Book::author))
            .all()
            .unwrap();
        capture.clear();
        assert!(books[0].read().unwrap().author.get().unwrap().is_none());
        assert!(capture.take().is_empty(), "noload sends nothing");
    });
}

#[test]
fn nested_chains_load_each_level() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .options(selectinload(Author::books).joinedload(Book::tags))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(capture.count("SELECT"), 2, "authors; books JOIN tags");
        let books = authors[0].read().unwrap().books.get().unwrap();
        let tags: Vec<Vec<String>> = books
            .iter()
            .map(|b| names(&b.read().unwrap().tags.get().unwrap()))
            .collect();
        // a1: red; b1: none; c1: blue, red (ordered by name)
        assert_eq!(tags, vec![vec!["red"], vec![], vec!["blue", "red"]]);
        assert_eq!(capture.count("SELECT"), 2, "every level was loaded");

        // Two joined levels in one statement, from the other side.
        let session = Session::new(db.engine());
        capture.clear();
        let tags = session
            .query::<Tag>()
            .options(joinedload(Tag::books).joinedload(Book::author))
            .order_by(Tag::name)
            .all()
            .unwrap();
        let blue = tags[0].read().unwrap().books.get().unwrap();
        assert_eq!(titles(&blue), vec!["c1"]);
        let ann = blue[0].read().unwrap().author.get().unwrap().unwrap();
        assert_eq!(ann.read().unwrap().name.as_deref(), Some("Ann"));
        assert_eq!(capture.count("SELECT"), 1);
    });
}

#[test]
fn many_to_many_and_many_to_one_load_eagerly() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let books = session
            .query::<Book>()
            .options(selectinload(Book::tags))
            .options(joinedload(Book::author))
            .order_by(Book::id)
            .all()
            .unwrap();
        assert_eq!(capture.count("SELECT"), 2);
        assert_eq!(
            names(&books[0].read().unwrap().tags.get().unwrap()),
            vec!["blue", "red"]
        );
        assert!(books[2].read().unwrap().tags.get().unwrap().is_empty());
        let author = books[4].read().unwrap().author.get().unwrap().unwrap();
        assert_eq!(author.read().unwrap().name.as_deref(), Some("Ben"));
        // Every book of one author points at one object.
        let first = books[0].read().unwrap().author.get().unwrap().unwrap();
        let second = books[1].read().unwrap().author.get().unwrap().unwrap();
        assert!(first.ptr_eq(&second));
        assert_eq!(capture.count("SELECT"), 2);
    });
}

#[test]
fn contains_eager_fills_a_collection_from_the_querys_own_join() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .join(Author::books)
            .filter(Book::title.like("a%"))
            .options(contains_eager(Author::books))
            .order_by(Author::id)
            .all()
            .unwrap();
        // Only the joined rows fill the collection: one book each, as the filter chose.
        assert_eq!(
            all_titles(&authors),
            vec![vec!["a1"], vec!["a2"], vec!["a3"]]
        );
        assert_eq!(capture.count("SELECT"), 1);
    });
}

#[test]
fn detached_and_expired_objects() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let loaded = session
            .query::<Author>()
            .options(selectinload(Author::books))
            .order_by(Author::id)
            .all()
            .unwrap();
        let lazy = session.query::<Book>().all().unwrap();
        session.close().unwrap();
        // What was loaded stays readable; what was not is a DetachedInstance error.
        assert_eq!(loaded[0].read().unwrap().books.get().unwrap().len(), 3);
        let err = lazy[0].read().unwrap().tags.get().unwrap_err();
        assert!(matches!(err, Error::DetachedInstance(_)), "{err:?}");
        assert!(err.to_string().contains("Book.tags"), "{err}");

        // After a commit (expire_on_commit) a loaded collection loads again on next access.
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        assert_eq!(ann.read().unwrap().books.get().unwrap().len(), 3);
        Checker::new(db).exec(
            db,
            "INSERT INTO books (title, author_id) VALUES ('d1', 1)",
            &[],
        );
        session.commit().unwrap();
        let capture = Capture::install(db.engine());
        assert_eq!(
            titles(&ann.read().unwrap().books.get().unwrap()),
            vec!["a1", "b1", "c1", "d1"]
        );
        assert!(capture.count("SELECT") >= 1);
    });
}

#[test]
fn a_lazyload_option_overrides_a_raise_default_and_eager_defaults_apply() {
    for_each_backend(|db| {
        create_tables(
            db,
            &[Registry::register::<Library>, Registry::register::<Shelf>],
        );
        let checker = Checker::new(db);
        checker.exec(db, "INSERT INTO libraries (name) VALUES ('central')", &[]);
        checker.exec(
            db,
            "INSERT INTO shelves (label, library_id) VALUES ('s1', 1), ('s2', 1)",
            &[],
        );

        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        // `Shelf.library` is lazy = "joined": loading shelves brings their library along.
        let shelves = session.query::<Shelf>().all().unwrap();
        assert_eq!(capture.count("SELECT"), 1);
        let library = shelves[0].read().unwrap().library.get().unwrap().unwrap();
        assert_eq!(
            capture.count("SELECT"),
            1,
            "the library came with the shelves"
        );
        // `Library.shelves` is lazy = "raise".
        let err = library.read().unwrap().shelves.get().unwrap_err();
        assert!(err.to_string().contains("Library.shelves"), "{err}");

        let session = Session::new(db.engine());
        let library = session
            .query::<Library>()
            .options(lazyload(Library::shelves))
            .one()
            .unwrap();
        assert_eq!(library.read().unwrap().shelves.get().unwrap().len(), 2);
    });
}

#[derive(Model, Debug, Default)]
#[retort(table = "libraries")]
pub struct Library {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub name: Option<String>,
    #[retort(relationship(back_populates = "library", lazy = "raise"))]
    pub shelves: Many<Shelf>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "shelves")]
pub struct Shelf {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub label: Option<String>,
    #[retort(foreign_key = "libraries.id")]
    pub library_id: Option<i64>,
    #[retort(relationship(back_populates = "shelves", lazy = "joined"))]
    pub library: One<Library>,
}

static GARDENS_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PLANTS_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[derive(Model, Debug, Default)]
#[retort(table = "gardens")]
pub struct Garden {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(back_populates = "garden"))]
    pub plants: Many<Plant>,
}

impl Drop for Garden {
    fn drop(&mut self) {
        GARDENS_DROPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[derive(Model, Debug, Default)]
#[retort(table = "plants")]
pub struct Plant {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "gardens.id")]
    pub garden_id: Option<i64>,
    #[retort(relationship(back_populates = "plants"))]
    pub garden: One<Garden>,
}

impl Drop for Plant {
    fn drop(&mut self) {
        PLANTS_DROPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How many gardens and plants were dropped while `f` ran.
fn drops_during(f: impl FnOnce()) -> (usize, usize) {
    use std::sync::atomic::Ordering::SeqCst;
    let (g, p) = (GARDENS_DROPPED.load(SeqCst), PLANTS_DROPPED.load(SeqCst));
    f();
    (
        GARDENS_DROPPED.load(SeqCst) - g,
        PLANTS_DROPPED.load(SeqCst) - p,
    )
}

/// Objects related both ways do not keep each other alive: once the session and the handles
/// are gone, every object is dropped, whichever side was loaded first.
#[test]
fn objects_related_both_ways_are_freed() {
    for_each_backend(|db| {
        create_tables(
            db,
            &[Registry::register::<Garden>, Registry::register::<Plant>],
        );
        let checker = Checker::new(db);
        checker.exec(db, "INSERT INTO gardens (id) VALUES (1), (2)", &[]);
        checker.exec(
            db,
            "INSERT INTO plants (garden_id) VALUES (1), (1), (2)",
            &[],
        );

        // Collections first, then each plant's garden (found in the identity map).
        let dropped = drops_during(|| {
            let session = Session::new(db.engine());
            let gardens = session
                .query::<Garden>()
                .options(selectinload(Garden::plants))
                .all()
                .unwrap();
            for garden in &gardens {
                for plant in garden.read().unwrap().plants.get().unwrap() {
                    let back = plant.read().unwrap().garden.get().unwrap().unwrap();
                    assert!(back.ptr_eq(garden));
                }
            }
        });
        assert_eq!(dropped, (2, 3), "gardens and plants dropped");

        // References first, then the collections.
        let dropped = drops_during(|| {
            let session = Session::new(db.engine());
            let plants = session
                .query::<Plant>()
                .options(joinedload(Plant::garden))
                .all()
                .unwrap();
            for plant in &plants {
                let garden = plant.read().unwrap().garden.get().unwrap().unwrap();
                assert!(!garden.read().unwrap().plants.get().unwrap().is_empty());
            }
            // The session goes first; the objects outlive it, still linked.
            drop(session);
            let garden = plants[0].read().unwrap().garden.get().unwrap().unwrap();
            assert_eq!(garden.read().unwrap().plants.get().unwrap().len(), 2);
        });
        assert_eq!(dropped, (2, 3), "gardens and plants dropped");

        // Linked in memory by push, with back_populates.
        let dropped = drops_during(|| {
            let garden = Obj::new(Garden::default());
            let plant = Obj::new(Plant::default());
            garden.read().unwrap().plants.push(&plant).unwrap();
            let back = plant.read().unwrap().garden.get().unwrap().unwrap();
            assert!(back.ptr_eq(&garden), "back_populates points back at once");
        });
        assert_eq!(dropped, (1, 1), "a linked pair is dropped");
    });
}

#[test]
fn joinedload_keeps_parents_without_children_unless_innerjoin() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        Checker::new(db).exec(db, "INSERT INTO authors (name) VALUES ('Dan')", &[]);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let outer = session
            .query::<Author>()
            .options(joinedload(Author::books))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(outer.len(), 4);
        assert!(outer[3].read().unwrap().books.get().unwrap().is_empty());
        assert_eq!(
            capture.count("SELECT"),
            1,
            "Dan's empty collection is loaded too"
        );

        let session = Session::new(db.engine());
        capture.clear();
        let inner = session
            .query::<Author>()
            .options(joinedload(Author::books).innerjoin())
            .all()
            .unwrap();
        assert_eq!(
            inner.len(),
            3,
            "INNER JOIN leaves out the author without books"
        );
        let sent = capture.take();
        let select = sent.iter().find(|s| s.starts_with("SELECT")).unwrap();
        assert!(
            select.contains(" JOIN ") && !select.contains("LEFT OUTER"),
            "{select}"
        );
    });
}

retort::orm::association_table! {
    /// Who follows whom.
    pub static FOLLOWS = "follows" {
        follower_id: i64 => "members.id",
        followed_id: i64 => "members.id",
    }
}

/// A self-referential many-to-many: `foreign_keys` names each side's column.
#[derive(Model, Debug, Default)]
#[retort(table = "members")]
pub struct Member {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub name: Option<String>,
    #[retort(relationship(
        secondary = "follows",
        foreign_keys = "follower_id",
        back_populates = "followers",
        order_by = "name"
    ))]
    pub following: Many<Member>,
    #[retort(relationship(
        secondary = "follows",
        foreign_keys = "followed_id",
        back_populates = "following",
        order_by = "name"
    ))]
    pub followers: Many<Member>,
}

#[test]
fn a_self_referential_many_to_many_loads_both_ways() {
    for_each_backend(|db| {
        let registry = Registry::new();
        registry.register::<Member>().unwrap();
        registry.register_table(&FOLLOWS).unwrap();
        registry.metadata().create_all(db.engine()).unwrap();
        let checker = Checker::new(db);
        checker.exec(
            db,
            "INSERT INTO members (name) VALUES ('ann'), ('ben'), ('cy')",
            &[],
        );
        // ann follows ben and cy; cy follows ben.
        checker.exec(
            db,
            "INSERT INTO follows (follower_id, followed_id) VALUES (1, 2), (1, 3), (3, 2)",
            &[],
        );
        let member_names = |members: Vec<Obj<Member>>| -> Vec<String> {
            members
                .iter()
                .map(|m| m.read().unwrap().name.clone().unwrap_or_default())
                .collect()
        };
        let session = Session::new(db.engine());
        let ann = session.get::<Member>(1).unwrap().unwrap();
        assert_eq!(
            member_names(ann.read().unwrap().following.get().unwrap()),
            vec!["ben", "cy"]
        );
        assert!(ann.read().unwrap().followers.get().unwrap().is_empty());

        let capture = Capture::install(db.engine());
        let members = session
            .query::<Member>()
            .options(selectinload(Member::followers))
            .order_by(Member::id)
            .all()
            .unwrap();
        assert_eq!(capture.count("SELECT"), 2);
        assert_eq!(
            member_names(members[1].read().unwrap().followers.get().unwrap()),
            vec!["ann", "cy"]
        );
        assert_eq!(capture.count("SELECT"), 2);
    });
}
