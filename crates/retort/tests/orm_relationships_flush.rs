//! Writing relationships (the unit of work): cascades, foreign keys copied from parents,
//! association rows, and the order of the statements, on SQLite, PostgreSQL and MariaDB.

mod common;
mod rel;

use common::{dialect_sql, inserts_one_by_one, kinds, txt, Capture, Checker};
use rel::*;
use retort::orm::{Many, One};
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

fn name_of(obj: &Obj<Book>) -> String {
    obj.read().unwrap().title.clone().unwrap_or_default()
}

fn id_of<M: Model>(obj: &Obj<M>) -> i64 {
    let key = obj
        .read()
        .unwrap()
        .column_value(M::mapper().primary_key()[0]);
    match key {
        Value::Int(id) => id,
        other => panic!("no integer key: {other:?}"),
    }
}

/// The table an INSERT, UPDATE or DELETE writes: its third or second word, unquoted.
fn table_of(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let word = match words.first().copied() {
        Some("UPDATE") => words[1],
        _ => words[2],
    };
    word.trim_matches(|c| c == '"' || c == '`').to_owned()
}

/// `(kind, table)` of every statement that writes.
fn writes(statements: &[String]) -> Vec<(String, String)> {
    statements
        .iter()
        .filter(|s| matches!(common::kind_of(s), "INSERT" | "UPDATE" | "DELETE"))
        .map(|s| (common::kind_of(s).to_owned(), table_of(s)))
        .collect()
}

fn w(kind: &str, table: &str) -> (String, String) {
    (kind.to_owned(), table.to_owned())
}

/// The INSERTs of `rows` new rows of `table` whose keys the database makes: one per row where
/// the flush inserts such rows one by one, else one multi-row INSERT.
fn inserts(db: &TestDb, table: &str, rows: usize) -> Vec<(String, String)> {
    let statements = if inserts_one_by_one(db) { rows } else { 1 };
    vec![w("INSERT", table); statements]
}

/// Authors Ann (1) and Ben (2); Ann wrote a1, a2, a3 (ids 1-3), Ben wrote b1 (id 4).
fn seed_books(db: &TestDb) {
    let checker = Checker::new(db);
    for name in ["Ann", "Ben"] {
        checker.exec(db, "INSERT INTO authors (name) VALUES (?)", &[txt(name)]);
    }
    for (title, author) in [("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2)] {
        checker.exec(
            db,
            "INSERT INTO books (title, author_id) VALUES (?, ?)",
            &[txt(title), Value::Int(author)],
        );
    }
}

/// `(title, author_id)` of every book, by title.
fn books(db: &TestDb) -> Vec<(String, Value)> {
    Checker::new(db)
        .rows(db, "SELECT title, author_id FROM books ORDER BY title", &[])
        .into_iter()
        .map(|row| match &row[..] {
            [Value::Text(title), author] => (title.clone(), author.clone()),
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

fn book_of(title: &str, author: Option<i64>) -> (String, Value) {
    (title.to_owned(), author.map_or(Value::Null, Value::Int))
}

#[test]
fn a_parent_with_children_is_inserted_first_and_the_children_in_one_batch() {
    for_each_backend(|db| {
        create_all(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let ann = session.add(Author {
            name: Some("Ann".into()),
            books: Many::from(vec![book("b1"), book("b2"), book("b3")]),
            ..Default::default()
        });
        // Added with their parent (save-update), and pointing back at it (back_populates).
        let children = ann.read().unwrap().books.get().unwrap();
        assert_eq!(children.len(), 3);
        for child in &children {
            assert_eq!(child.state(), ObjectState::Pending);
            let parent = child.read().unwrap().author.get().unwrap().unwrap();
            assert!(parent.ptr_eq(&ann));
        }
        session.commit().unwrap();
        let statements = capture.take();
        let mut expected = inserts(db, "authors", 1);
        expected.extend(inserts(db, "books", 3));
        assert_eq!(writes(&statements), expected, "{statements:#?}");
        assert_eq!(
            statements.len(),
            expected.len() + 2,
            "BEGIN, INSERTs, COMMIT"
        );
        assert_eq!(kinds(&statements[..1]), ["BEGIN"]);
        assert_eq!(kinds(&statements[statements.len() - 1..]), ["COMMIT"]);
        let ann_id = id_of(&ann);
        assert_eq!(
            books(db),
            [
                book_of("b1", Some(ann_id)),
                book_of("b2", Some(ann_id)),
                book_of("b3", Some(ann_id))
            ]
        );
        for child in &children {
            assert_eq!(child.read().unwrap().author_id, Some(ann_id));
            assert_eq!(child.state(), ObjectState::Persistent);
        }
    });
}

#[test]
fn a_child_added_before_its_parent_is_still_inserted_after_it() {
    for_each_backend(|db| {
        create_all(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        // The parent reached only through the child's reference: added by cascade.
        let ann = Obj::new(author("Ann"));
        let first = session.add(Book {
            title: Some("first".into()),
            author: One::to(&ann),
            ..Default::default()
        });
        assert_eq!(ann.state(), ObjectState::Pending);
        // The parent added after the child, and linked afterwards.
        let second = session.add(book("second"));
        let ben = session.add(author("Ben"));
        second.read().unwrap().author.set(Some(&ben)).unwrap();
        // back_populates on the collection side, before any flush.
        assert!(ben.read().unwrap().books.get().unwrap()[0].ptr_eq(&second));
        assert!(ann.read().unwrap().books.get().unwrap()[0].ptr_eq(&first));
        session.commit().unwrap();
        let statements = capture.take();
        let mut expected = inserts(db, "authors", 2);
        expected.extend(inserts(db, "books", 2));
        assert_eq!(writes(&statements), expected, "{statements:#?}");
        assert_eq!(
            books(db),
            [
                book_of("first", Some(id_of(&ann))),
                book_of("second", Some(id_of(&ben)))
            ]
        );
    });
}

#[test]
fn mixed_inserts_updates_and_deletes_in_one_flush() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let anns = ann.read().unwrap().books.get().unwrap();
        let [a1, a2, a3] = &anns[..] else {
            panic!("three books")
        };
        let capture = Capture::install(db.engine());
        // A new book for Ann, a renamed one, one moved to a new author, one deleted.
        let a4 = ann.read().unwrap().books.push_new(book("a4")).unwrap();
        a1.write().unwrap().title = Some("a1 revised".into());
        let cy = session.add(author("Cy"));
        a2.read().unwrap().author.set(Some(&cy)).unwrap();
        session.delete(a3).unwrap();
        assert!(
            capture.take().is_empty(),
            "nothing is sent before the flush"
        );
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            writes(&statements),
            [
                w("INSERT", "authors"),
                w("INSERT", "books"),
                w("UPDATE", "books"),
                // The moved book takes its new author's key, known after its INSERT.
                w("UPDATE", "books"),
                // The deleted book's tag links go first (found by its key: no SELECT).
                w("DELETE", "book_tags"),
                w("DELETE", "books")
            ],
            "{statements:#?}"
        );
        assert_eq!(
            kinds(&statements),
            ["INSERT", "INSERT", "UPDATE", "UPDATE", "DELETE", "DELETE", "COMMIT"]
        );
        assert_eq!(id_of(&a4), 5);
        assert_eq!(id_of(&cy), 3);
        assert_eq!(
            books(db),
            [
                book_of("a1 revised", Some(1)),
                book_of("a2", Some(3)),
                book_of("a4", Some(1)),
                book_of("b1", Some(2))
            ]
        );
    });
}

/// Orders 1 and 2, each with two lines (ids 1, 2 and 3, 4).
fn seed_orders(db: &TestDb) {
    let checker = Checker::new(db);
    for customer in ["Cy", "Di"] {
        checker.exec(
            db,
            "INSERT INTO orders (customer) VALUES (?)",
            &[txt(customer)],
        );
    }
    // `lines` is a reserved word on MySQL.
    let insert = dialect_sql(
        db,
        r#"INSERT INTO "lines" (order_id, product) VALUES (?, ?)"#,
    );
    for (order, product) in [(1, "pen"), (1, "ink"), (2, "cup"), (2, "mug")] {
        checker.exec(db, &insert, &[Value::Int(order), txt(product)]);
    }
}

fn lines(db: &TestDb) -> Vec<Vec<Value>> {
    Checker::new(db).rows(
        db,
        &dialect_sql(db, r#"SELECT id, order_id FROM "lines" ORDER BY id"#),
        &[],
    )
}

#[test]
fn deleting_a_parent_deletes_its_children_under_delete_orphan() {
    for_each_backend(|db| {
        create_all(db);
        seed_orders(db);
        let session = Session::new(db.engine());
        let order = session.get::<Order>(1).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        session.delete(&order).unwrap();
        session.commit().unwrap();
        let statements = capture.take();
        // The lines are loaded to be deleted, then deleted before their order.
        assert_eq!(
            kinds(&statements),
            ["SELECT", "DELETE", "DELETE", "COMMIT"],
            "{statements:#?}"
        );
        assert_eq!(
            writes(&statements),
            [w("DELETE", "lines"), w("DELETE", "orders")]
        );
        assert_eq!(
            lines(db),
            [
                vec![Value::Int(3), Value::Int(2)],
                vec![Value::Int(4), Value::Int(2)]
            ]
        );
        assert_eq!(Checker::new(db).count(db, "SELECT count(*) FROM orders"), 1);
    });
}

#[test]
fn deleting_a_parent_without_a_delete_cascade_sets_the_childrens_key_to_null() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        session.delete(&ann).unwrap();
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            kinds(&statements),
            ["SELECT", "UPDATE", "UPDATE", "UPDATE", "DELETE", "COMMIT"],
            "{statements:#?}"
        );
        assert_eq!(writes(&statements)[3], w("DELETE", "authors"));
        assert_eq!(
            books(db),
            [
                book_of("a1", None),
                book_of("a2", None),
                book_of("a3", None),
                book_of("b1", Some(2))
            ]
        );
    });
}

#[test]
fn a_loaded_collection_is_not_loaded_again_to_delete_its_parent() {
    for_each_backend(|db| {
        create_all(db);
        seed_orders(db);
        let session = Session::new(db.engine());
        let order = session.get::<Order>(2).unwrap().unwrap();
        assert_eq!(order.read().unwrap().lines.get().unwrap().len(), 2);
        let capture = Capture::install(db.engine());
        session.delete(&order).unwrap();
        session.commit().unwrap();
        assert_eq!(
            writes(&capture.take()),
            [w("DELETE", "lines"), w("DELETE", "orders")]
        );
        assert_eq!(lines(db).len(), 2);
    });
}

#[test]
fn removing_a_child_deletes_it_under_delete_orphan_and_unlinks_it_otherwise() {
    for_each_backend(|db| {
        create_all(db);
        seed_orders(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let order = session.get::<Order>(1).unwrap().unwrap();
        let pen = session.get::<Line>(1).unwrap().unwrap();
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        // Loaded first: a load would autoflush the changes before it.
        order.read().unwrap().lines.get().unwrap();
        ann.read().unwrap().books.get().unwrap();
        let capture = Capture::install(db.engine());
        assert!(order.read().unwrap().lines.remove(&pen).unwrap());
        assert!(ann.read().unwrap().books.remove(&a1).unwrap());
        // back_populates: the children no longer point at their parents.
        assert!(pen.read().unwrap().order.get().unwrap().is_none());
        assert!(a1.read().unwrap().author.get().unwrap().is_none());
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            writes(&statements),
            [w("UPDATE", "books"), w("DELETE", "lines")],
            "{statements:#?}"
        );
        assert_eq!(pen.state(), ObjectState::Detached);
        assert_eq!(
            lines(db),
            [
                vec![Value::Int(2), Value::Int(1)],
                vec![Value::Int(3), Value::Int(2)],
                vec![Value::Int(4), Value::Int(2)]
            ]
        );
        assert_eq!(books(db)[0], book_of("a1", None));
        // A child removed from one parent and added to another in the same flush keeps the
        // new one: it is no orphan.
        let order = session.get::<Order>(1).unwrap().unwrap();
        let other = session.get::<Order>(2).unwrap().unwrap();
        let ink = session.get::<Line>(2).unwrap().unwrap();
        order.read().unwrap().lines.get().unwrap();
        other.read().unwrap().lines.get().unwrap();
        capture.clear();
        order.read().unwrap().lines.remove(&ink).unwrap();
        other.read().unwrap().lines.push(&ink).unwrap();
        session.commit().unwrap();
        assert_eq!(writes(&capture.take()), [w("UPDATE", "lines")], "no DELETE");
        assert_eq!(lines(db)[0], vec![Value::Int(2), Value::Int(2)]);
        // Moved by its reference: the old parent's collection follows in memory.
        let ink = session.get::<Line>(2).unwrap().unwrap();
        let first = session.get::<Order>(1).unwrap().unwrap();
        let second = session.get::<Order>(2).unwrap().unwrap();
        assert_eq!(second.read().unwrap().lines.get().unwrap().len(), 3);
        ink.read().unwrap().order.set(Some(&first)).unwrap();
        assert_eq!(second.read().unwrap().lines.get().unwrap().len(), 2);
        session.commit().unwrap();
        assert_eq!(lines(db)[0], vec![Value::Int(2), Value::Int(1)]);
    });
}

fn book_tags(db: &TestDb) -> Vec<Vec<Value>> {
    Checker::new(db).rows(
        db,
        "SELECT book_id, tag_id FROM book_tags ORDER BY book_id, tag_id",
        &[],
    )
}

fn pair(book: i64, tag: i64) -> Vec<Value> {
    vec![Value::Int(book), Value::Int(tag)]
}

#[test]
fn many_to_many_rows_follow_the_collections() {
    for_each_backend(|db| {
        create_all(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let rust = Obj::new(tag("rust"));
        let sql = Obj::new(tag("sql"));
        let guide = session.add(Book {
            title: Some("guide".into()),
            tags: Many::of([rust.clone(), sql.clone()]),
            ..Default::default()
        });
        let manual = session.add(book("manual"));
        manual.read().unwrap().tags.push(&sql).unwrap();
        // back_populates: each tag lists its books, before any flush.
        assert_eq!(sql.read().unwrap().books.get().unwrap().len(), 2);
        session.commit().unwrap();
        let statements = capture.take();
        // Both ends first, then the association rows in one multi-row INSERT.
        let mut expected = inserts(db, "books", 2);
        expected.extend(inserts(db, "tags", 2));
        expected.push(w("INSERT", "book_tags"));
        assert_eq!(writes(&statements), expected, "{statements:#?}");
        let (g, m) = (id_of(&guide), id_of(&manual));
        let (r, s) = (id_of(&rust), id_of(&sql));
        let mut expected = vec![pair(g, r), pair(g, s), pair(m, s)];
        expected.sort_by_key(|p| format!("{:?}", p));
        let mut found = book_tags(db);
        found.sort_by_key(|p| format!("{:?}", p));
        assert_eq!(found, expected);

        // Removing from a collection deletes the row; from the other side too.
        guide.read().unwrap().tags.remove(&sql).unwrap();
        // (Loading the tag's books autoflushes the removal first.)
        assert_eq!(sql.read().unwrap().books.get().unwrap().len(), 1);
        session.commit().unwrap();
        assert_eq!(writes(&capture.take()), [w("DELETE", "book_tags")]);
        assert_eq!(book_tags(db).len(), 2);
        rust.read().unwrap().books.remove(&guide).unwrap();
        session.commit().unwrap();
        assert_eq!(book_tags(db), [pair(m, s)]);

        // Deleting a book deletes its rows first, without loading its tags.
        guide.read().unwrap().tags.push(&rust).unwrap();
        session.commit().unwrap();
        let manual = session.get::<Book>(m).unwrap().unwrap();
        capture.clear();
        session.delete(&manual).unwrap();
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            writes(&statements),
            [w("DELETE", "book_tags"), w("DELETE", "books")],
            "{statements:#?}"
        );
        assert_eq!(kinds(&statements), ["DELETE", "DELETE", "COMMIT"]);
        assert_eq!(book_tags(db), [pair(g, r)]);
    });
}

/// The names of each INSERT's rows, by the parameters sent (each INSERT of nodes sends
/// `name, parent_id`).
fn inserted_names(sent: &[common::Sent]) -> Vec<Vec<String>> {
    sent.iter()
        .filter(|(sql, _)| sql.starts_with("INSERT"))
        .map(|(_, params)| {
            params
                .iter()
                .filter_map(|p| match p {
                    Value::Text(name) => Some(name.clone()),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_three_level_tree_is_inserted_a_level_at_a_time_and_a_subtree_deleted_leaves_first() {
    for_each_backend(|db| {
        create_all(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let tree = |name: &str, children: Vec<Node>| Node {
            name: Some(name.into()),
            children: Many::from(children),
            ..Default::default()
        };
        let root = session.add(tree(
            "root",
            vec![
                tree("a", vec![node("a1"), node("a2")]),
                tree("b", vec![node("b1")]),
            ],
        ));
        session.commit().unwrap();
        let sent = capture.take_with_params();
        let levels: [&[&str]; 3] = [&["root"], &["a", "b"], &["a1", "a2", "b1"]];
        let expected: Vec<Vec<String>> = if inserts_one_by_one(db) {
            let names = levels.iter().flat_map(|level| level.iter());
            names.map(|name| vec![name.to_string()]).collect()
        } else {
            let names = levels.iter();
            names
                .map(|level| level.iter().map(|n| n.to_string()).collect())
                .collect()
        };
        assert_eq!(inserted_names(&sent), expected, "{sent:#?}");
        let checker = Checker::new(db);
        let parent_of = |name: &str| -> Vec<Vec<Value>> {
            checker.rows(
                db,
                "SELECT p.name FROM nodes n JOIN nodes p ON p.id = n.parent_id WHERE n.name = ?",
                &[txt(name)],
            )
        };
        for (child, parent) in [("a", "root"), ("b", "root"), ("a1", "a"), ("b1", "b")] {
            assert_eq!(parent_of(child), [vec![txt(parent)]], "{child}");
        }
        let root_id = id_of(&root);

        // A subtree, in a new session: each level loaded (one SELECT per level), then deleted
        // leaves first.
        let session = Session::new(db.engine());
        let a = session
            .query::<Node>()
            .filter(Node::name.eq("a"))
            .one()
            .unwrap();
        capture.clear();
        session.delete(&a).unwrap();
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            kinds(&statements),
            ["SELECT", "SELECT", "DELETE", "DELETE", "COMMIT"],
            "{statements:#?}"
        );
        let names: Vec<Vec<Value>> = checker.rows(db, "SELECT name FROM nodes ORDER BY name", &[]);
        assert_eq!(names, [vec![txt("b")], vec![txt("b1")], vec![txt("root")]]);
        assert_eq!(
            checker.count(
                db,
                &format!("SELECT count(*) FROM nodes WHERE parent_id = {root_id}")
            ),
            1
        );
    });
}

#[test]
fn rollback_makes_new_children_transient_and_collections_load_again() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        assert_eq!(ann.read().unwrap().books.get().unwrap().len(), 3);
        let a4 = ann.read().unwrap().books.push_new(book("a4")).unwrap();
        assert_eq!(a4.state(), ObjectState::Pending);
        session.flush().unwrap();
        assert_eq!(a4.read().unwrap().author_id, Some(1));
        assert!(a4.read().unwrap().id.is_some());
        session.rollback().unwrap();
        assert_eq!(a4.state(), ObjectState::Transient);
        // As it was added: no key, and no foreign key copied from the parent.
        assert_eq!(a4.read().unwrap().id, None);
        assert_eq!(a4.read().unwrap().author_id, None);
        assert!(!ann.read().unwrap().books.is_loaded());
        let capture = Capture::install(db.engine());
        let titles: Vec<String> = ann
            .read()
            .unwrap()
            .books
            .get()
            .unwrap()
            .iter()
            .map(name_of)
            .collect();
        assert_eq!(titles, ["a1", "a2", "a3"]);
        assert_eq!(capture.count("SELECT"), 1, "the books again");
        assert_eq!(books(db).len(), 4);

        // A new parent and its children, rolled back before any flush.
        let ben = session.add(Author {
            name: Some("Ben".into()),
            books: Many::from(vec![book("x")]),
            ..Default::default()
        });
        let x = ben.read().unwrap().books.get().unwrap().remove(0);
        assert_eq!(x.state(), ObjectState::Pending);
        session.rollback().unwrap();
        assert_eq!(ben.state(), ObjectState::Transient);
        assert_eq!(x.state(), ObjectState::Transient);
        // Added again, both are written, the child with its parent's key.
        session.add_obj(&ben).unwrap();
        assert_eq!(x.state(), ObjectState::Pending);
        session.commit().unwrap();
        assert_eq!(x.read().unwrap().author_id, Some(id_of(&ben)));
    });
}

#[test]
fn a_failed_flush_leaves_a_parent_and_its_children_as_they_were_added() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let cy = session.add(Author {
            name: Some("Cy".into()),
            books: Many::from(vec![
                book("fine"),
                // Book 1 exists: its INSERT fails after the author's and the first book's.
                Book {
                    id: Some(1),
                    title: Some("taken".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        });
        let children = cy.read().unwrap().books.get().unwrap();
        let capture = Capture::install(db.engine());
        assert!(matches!(session.commit(), Err(Error::Integrity(_))));
        assert_eq!(
            writes(&capture.take()),
            [
                w("INSERT", "authors"),
                w("INSERT", "books"),
                w("INSERT", "books")
            ]
        );
        // Nothing of the flush stays: no generated keys, no copied foreign keys, all pending.
        assert_eq!(cy.read().unwrap().id, None);
        assert_eq!(children[0].read().unwrap().id, None);
        for child in &children {
            assert_eq!(child.read().unwrap().author_id, None);
            assert_eq!(child.state(), ObjectState::Pending);
        }
        assert_eq!(books(db).len(), 4);
        session.rollback().unwrap();
        assert_eq!(cy.state(), ObjectState::Transient);
        assert_eq!(children[1].state(), ObjectState::Transient);
        // Put right and added again, the parent brings its children.
        children[1].write().unwrap().id = None;
        session.add_obj(&cy).unwrap();
        session.commit().unwrap();
        let cy_id = id_of(&cy);
        let mut found = books(db);
        found.retain(|(_, author)| *author == Value::Int(cy_id));
        assert_eq!(
            found,
            [book_of("fine", Some(cy_id)), book_of("taken", Some(cy_id))]
        );
    });
}

#[test]
fn a_flush_that_must_write_a_key_into_a_borrowed_object_sends_nothing() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        assert!(a1.read().unwrap().author.get().unwrap().is_some());
        let cy = session.add(author("Cy"));
        let capture = Capture::install(db.engine());
        {
            let guard = a1.read().unwrap();
            guard.author.set(Some(&cy)).unwrap();
            // The new author's key goes into the book, which the guard holds.
            let err = session.flush().unwrap_err();
            assert!(err.to_string().contains("cannot flush"), "{err}");
            assert!(capture.take().is_empty(), "nothing was sent");
        }
        // The guard is gone: the same changes go through, and the session never needed a
        // rollback.
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            writes(&statements),
            [w("INSERT", "authors"), w("UPDATE", "books")],
            "{statements:#?}"
        );
        assert_eq!(books(db)[0], book_of("a1", Some(id_of(&cy))));
    });
}

#[test]
fn back_populates_keeps_both_sides_in_step_before_any_flush() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let ann = session.add(author("Ann2"));
        let book1 = session.add(book("one"));
        let capture = Capture::install(db.engine());
        ann.read().unwrap().books.push(&book1).unwrap();
        let parent = book1.read().unwrap().author.get().unwrap().unwrap();
        assert!(parent.ptr_eq(&ann), "push sets the reference");
        let book2 = session.add(book("two"));
        book2.read().unwrap().author.set(Some(&ann)).unwrap();
        let children = ann.read().unwrap().books.get().unwrap();
        assert_eq!(children.len(), 2, "set appends to the collection");
        assert!(children[1].ptr_eq(&book2));
        // Moving a child: the old parent's collection loses it.
        let ben = session.add(author("Ben2"));
        book2.read().unwrap().author.set(Some(&ben)).unwrap();
        assert_eq!(ann.read().unwrap().books.get().unwrap().len(), 1);
        assert!(ben.read().unwrap().books.get().unwrap()[0].ptr_eq(&book2));
        assert!(capture.take().is_empty(), "all in memory");
        session.commit().unwrap();
        let ids = (id_of(&ann), id_of(&ben));
        assert_eq!(book1.read().unwrap().author_id, Some(ids.0));
        assert_eq!(book2.read().unwrap().author_id, Some(ids.1));
    });
}

/// A model whose reference to a book is only for reading.
#[derive(Model, Debug, Default)]
#[retort(table = "readers")]
pub struct Reader {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub name: Option<String>,
    #[retort(foreign_key = "books.id")]
    pub book_id: Option<i64>,
    #[retort(relationship(viewonly))]
    pub favourite: One<Book>,
}

#[test]
fn changes_made_from_both_sides_end_as_memory_shows_them() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let (ann, ben) = (
            session.get::<Author>(1).unwrap().unwrap(),
            session.get::<Author>(2).unwrap().unwrap(),
        );
        ann.read().unwrap().books.get().unwrap();
        ben.read().unwrap().books.get().unwrap();
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        // Written first, then moved through Ben's collection, then through its own reference.
        a1.write().unwrap().title = Some("a1 revised".into());
        ben.read().unwrap().books.push(&a1).unwrap();
        a1.read().unwrap().author.set(Some(&ann)).unwrap();
        assert!(a1
            .read()
            .unwrap()
            .author
            .get()
            .unwrap()
            .unwrap()
            .ptr_eq(&ann));
        // Moved by its reference, then taken out of the new parent's collection: no parent.
        let a2 = session.get::<Book>(2).unwrap().unwrap();
        a2.read().unwrap().author.set(Some(&ben)).unwrap();
        ben.read().unwrap().books.remove(&a2).unwrap();
        assert!(a2.read().unwrap().author.get().unwrap().is_none());
        session.commit().unwrap();
        let found = books(db);
        assert_eq!(found[0], book_of("a1 revised", Some(1)));
        assert_eq!(found[1], book_of("a2", None));

        // A link added from one side and removed from the other writes nothing.
        let tag = session.add(tag("t"));
        session.commit().unwrap();
        let a3 = session.get::<Book>(3).unwrap().unwrap();
        a3.read().unwrap().tags.get().unwrap();
        tag.read().unwrap().books.get().unwrap();
        let capture = Capture::install(db.engine());
        a3.read().unwrap().tags.push(&tag).unwrap();
        tag.read().unwrap().books.remove(&a3).unwrap();
        assert!(a3.read().unwrap().tags.get().unwrap().is_empty());
        session.commit().unwrap();
        assert!(writes(&capture.take()).is_empty());
        assert!(book_tags(db).is_empty());
    });
}

#[test]
fn viewonly_relationships_are_not_flushed() {
    for_each_backend(|db| {
        let registry = create_all(db);
        registry.register::<Reader>().unwrap();
        registry.metadata().create_all(db.engine()).unwrap();
        seed_books(db);
        let session = Session::new(db.engine());
        let reader = session.add(Reader {
            name: Some("Eve".into()),
            ..Default::default()
        });
        session.commit().unwrap();
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        reader.read().unwrap().favourite.set(Some(&a1)).unwrap();
        let capture = Capture::install(db.engine());
        session.commit().unwrap();
        assert!(
            writes(&capture.take()).is_empty(),
            "a viewonly reference writes nothing"
        );
        let checker = Checker::new(db);
        assert_eq!(
            checker.rows(db, "SELECT book_id FROM readers", &[]),
            [vec![Value::Null]]
        );
    });
}

/// `merge` follows relationships with the merge cascade: each related object is merged by its
/// key, and the merged objects replace the target's collection.
#[test]
fn merge_cascades_into_related_objects() {
    for_each_backend(|db| {
        create_all(db);
        let checker = Checker::new(db);
        checker.exec(db, "INSERT INTO authors (name) VALUES ('Ann')", &[]);
        for title in ["one", "two", "three"] {
            checker.exec(
                db,
                "INSERT INTO books (title, author_id) VALUES (?, 1)",
                &[txt(title)],
            );
        }
        let session = Session::new(db.engine());
        // A detached description of author 1: book 2 renamed, and a new book; books 1 and 3
        // are no longer hers.
        let merged = session
            .merge(Author {
                id: Some(1),
                name: Some("Anne".into()),
                books: Many::from(vec![
                    Book {
                        id: Some(2),
                        title: Some("two, revised".into()),
                        author_id: Some(1),
                        ..Default::default()
                    },
                    book("four"),
                ]),
            })
            .unwrap();
        assert_eq!(merged.state(), ObjectState::Persistent);
        let two = session.get::<Book>(2).unwrap().unwrap();
        assert!(
            merged
                .read()
                .unwrap()
                .books
                .get()
                .unwrap()
                .iter()
                .any(|b| b.ptr_eq(&two)),
            "the merged book is the session's object for row 2"
        );
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name FROM authors", &[]),
            vec![vec![txt("Anne")]]
        );
        assert_eq!(
            checker.rows(
                db,
                "SELECT id, title, author_id FROM books ORDER BY id",
                &[]
            ),
            vec![
                vec![Value::Int(1), txt("one"), Value::Null],
                vec![Value::Int(2), txt("two, revised"), Value::Int(1)],
                vec![Value::Int(3), txt("three"), Value::Null],
                vec![Value::Int(4), txt("four"), Value::Int(1)],
            ]
        );
    });
}

/// Deleting a pending parent under a delete cascade takes its pending children out of the
/// session too: nothing of them is inserted.
#[test]
fn deleting_a_pending_parent_removes_its_pending_children() {
    for_each_backend(|db| {
        create_all(db);
        let session = Session::new(db.engine());
        let order = session.add(Order {
            customer: Some("zoe".into()),
            lines: Many::from(vec![Line::default(), Line::default()]),
            ..Default::default()
        });
        let lines = order.read().unwrap().lines.get().unwrap();
        assert!(lines.iter().all(|l| l.state() == ObjectState::Pending));
        session.delete(&order).unwrap();
        assert!(lines.iter().all(|l| l.state() == ObjectState::Transient));
        let capture = Capture::install(db.engine());
        session.commit().unwrap();
        assert_eq!(capture.count("INSERT"), 0);
        let count = dialect_sql(db, r#"SELECT count(*) FROM "lines""#);
        assert_eq!(Checker::new(db).count(db, &count), 0);
    });
}

#[test]
fn is_modified_counts_an_objects_own_relationship_changes() {
    for_each_backend(|db| {
        create_all(db);
        seed_books(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let ben = session.get::<Author>(2).unwrap().unwrap();
        let b1 = session.get::<Book>(4).unwrap().unwrap();
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        let a1_books = ann.read().unwrap().books.get().unwrap();
        assert_eq!(a1_books.len(), 3);
        assert!(!session.is_modified(&ann).unwrap(), "loading is no change");

        // A many-to-one pointed elsewhere and back is no change.
        b1.read().unwrap().author.set(Some(&ann)).unwrap();
        assert!(session.is_modified(&b1).unwrap());
        b1.read().unwrap().author.set(Some(&ben)).unwrap();
        assert!(!session.is_modified(&b1).unwrap(), "set, then set back");

        // A collection: removing and pushing back the same object cancels out.
        ann.read().unwrap().books.remove(&a1).unwrap();
        assert!(session.is_modified(&ann).unwrap());
        ann.read().unwrap().books.push(&a1).unwrap();
        assert!(
            !session.is_modified(&ann).unwrap(),
            "removed, then pushed back"
        );

        // A many-to-many link.
        let red = session.add(tag("red"));
        session.flush().unwrap();
        assert!(!session.is_modified(&red).unwrap());
        a1.read().unwrap().tags.push(&red).unwrap();
        assert!(session.is_modified(&a1).unwrap());
        assert!(!session.is_modified(&ann).unwrap(), "a1's change is a1's");
        session.flush().unwrap();
        assert!(!session.is_modified(&a1).unwrap(), "written by the flush");

        ann.read().unwrap().books.remove(&a1).unwrap();
        assert!(session.is_modified(&ann).unwrap());
        session.commit().unwrap();
        assert!(!session.is_modified(&ann).unwrap());
        assert_eq!(books(db)[0], book_of("a1", None));
    });
}
