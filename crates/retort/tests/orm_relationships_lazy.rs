//! Lazy loading (`lazy = "select"`, the default): what each first access sends, on SQLite,
//! PostgreSQL and MariaDB.

mod common;
mod rel;

use common::Capture;
use rel::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

#[test]
fn lazy_collections_cost_one_select_per_parent_in_order() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let authors = session
            .query::<Author>()
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(capture.count("SELECT"), 1);
        for (i, author) in authors.iter().enumerate() {
            let books = author.read().unwrap().books.get().unwrap();
            let titles: Vec<String> = books
                .iter()
                .map(|b| b.read().unwrap().title.clone().unwrap_or_default())
                .collect();
            let n = i + 1;
            assert_eq!(
                titles,
                vec![format!("a{n}"), format!("b{n}"), format!("c{n}")]
            );
        }
        assert_eq!(capture.count("SELECT"), 1 + 3, "1 + N");
        // Loaded now: reading again sends nothing.
        for author in &authors {
            assert_eq!(author.read().unwrap().books.get().unwrap().len(), 3);
        }
        assert_eq!(capture.count("SELECT"), 4);
    });
}

#[test]
fn many_to_one_in_the_identity_map_costs_no_sql() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let books = ann.read().unwrap().books.get().unwrap();
        let capture = Capture::install(db.engine());
        for book in &books {
            let author = book.read().unwrap().author.get().unwrap().unwrap();
            assert!(author.ptr_eq(&ann), "one row, one object");
        }
        assert!(
            capture.take().is_empty(),
            "no SQL for an author already loaded"
        );
        // A book whose author is not loaded costs one SELECT by key.
        let other = session.get::<Book>(4).unwrap().unwrap();
        let ben = other.read().unwrap().author.get().unwrap().unwrap();
        assert_eq!(ben.read().unwrap().name.as_deref(), Some("Ben"));
        assert_eq!(capture.count("SELECT"), 2);
    });
}

#[test]
fn loading_through_a_write_guard_says_to_use_a_read_guard() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let book = session.get::<Book>(4).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        for err in [
            ann.write().unwrap().books.get().map(drop).unwrap_err(),
            book.write().unwrap().author.get().map(drop).unwrap_err(),
        ] {
            assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
            assert!(err.to_string().contains("read guard"), "{err}");
        }
        assert!(capture.take().is_empty(), "nothing was sent");
        // Through a read guard both load, and the unwritten objects flush nothing.
        assert_eq!(ann.read().unwrap().books.get().unwrap().len(), 3);
        assert!(book.read().unwrap().author.get().unwrap().is_some());
    });
}

/// Pushing a book onto another author's collection moves it in memory: the old author's
/// loaded collection lets go of it, before any flush.
#[test]
fn moving_a_child_between_loaded_collections_updates_both_in_memory() {
    for_each_backend(|db| {
        create_all(db);
        seed_library(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let ben = session.get::<Author>(2).unwrap().unwrap();
        let book = ann.read().unwrap().books.get().unwrap()[0].clone();
        assert!(book
            .read()
            .unwrap()
            .author
            .get()
            .unwrap()
            .unwrap()
            .ptr_eq(&ann));
        assert_eq!(ben.read().unwrap().books.get().unwrap().len(), 3);

        ben.read().unwrap().books.push(&book).unwrap();
        assert!(book
            .read()
            .unwrap()
            .author
            .get()
            .unwrap()
            .unwrap()
            .ptr_eq(&ben));
        assert_eq!(ann.read().unwrap().books.get().unwrap().len(), 2);
        assert_eq!(ben.read().unwrap().books.get().unwrap().len(), 4);
        session.commit().unwrap();
        assert_eq!(book.read().unwrap().author_id, Some(2));
    });
}
