//! Joins and filters through relationships, on SQLite, PostgreSQL and MariaDB: `join` and
//! `outerjoin` along a relationship (one-to-many, many-to-one, many-to-many, chains),
//! `any()`/`has()` as correlated EXISTS, `with_parent`, and Core's join inference from
//! foreign keys on the same tables.

mod common;
mod rel;

use common::{dialect_sql, kind_of, Capture, Checker};
use rel::*;
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

/// Authors Ann (1), Ben (2) and Cy (3, no books); books a1 and b1 by Ann, a2 by Ben, and
/// "orphan" with no author; tags sf (1), classic (2) and unused (3), with a1: sf, classic;
/// b1: sf; a2: classic. Nodes: root (1) with child1 (2) and child2 (3); grandchild (4)
/// under child1.
fn seed(db: &TestDb) -> Registry {
    let registry = create_all(db);
    let checker = Checker::new(db);
    let text = |s: &str| Value::Text(s.into());
    for name in ["Ann", "Ben", "Cy"] {
        checker.exec(db, "INSERT INTO authors (name) VALUES (?)", &[text(name)]);
    }
    for (title, author) in [
        ("a1", Some(1)),
        ("b1", Some(1)),
        ("a2", Some(2)),
        ("orphan", None),
    ] {
        checker.exec(
            db,
            "INSERT INTO books (title, author_id) VALUES (?, ?)",
            &[text(title), author.map_or(Value::Null, Value::Int)],
        );
    }
    for name in ["sf", "classic", "unused"] {
        checker.exec(db, "INSERT INTO tags (name) VALUES (?)", &[text(name)]);
    }
    for (book, tag) in [(1, 1), (1, 2), (2, 1), (3, 2)] {
        checker.exec(
            db,
            "INSERT INTO book_tags (book_id, tag_id) VALUES (?, ?)",
            &[Value::Int(book), Value::Int(tag)],
        );
    }
    for (name, parent) in [
        ("root", None),
        ("child1", Some(1)),
        ("child2", Some(1)),
        ("grandchild", Some(2)),
    ] {
        checker.exec(
            db,
            "INSERT INTO nodes (name, parent_id) VALUES (?, ?)",
            &[text(name), parent.map_or(Value::Null, Value::Int)],
        );
    }
    registry
}

fn author_names(objs: &[Obj<Author>]) -> Vec<String> {
    objs.iter()
        .map(|o| o.read().unwrap().name.clone().unwrap_or_default())
        .collect()
}

fn tag_names(objs: &[Obj<Tag>]) -> Vec<String> {
    objs.iter()
        .map(|o| o.read().unwrap().name.clone().unwrap_or_default())
        .collect()
}

fn node_names(objs: &[Obj<Node>]) -> Vec<String> {
    objs.iter()
        .map(|o| o.read().unwrap().name.clone().unwrap_or_default())
        .collect()
}

/// The SELECTs recorded since the last call, forgotten.
fn selects(capture: &Capture) -> Vec<String> {
    capture
        .take()
        .into_iter()
        .filter(|s| kind_of(s) == "SELECT")
        .collect()
}

const AUTHORS: &str = r#"SELECT "authors"."id", "authors"."name" FROM "authors""#;
const BOOKS: &str = r#"SELECT "books"."id", "books"."title", "books"."author_id" FROM "books""#;
const TAGS: &str = r#"SELECT "tags"."id", "tags"."name" FROM "tags""#;
const NODES: &str = r#"SELECT "nodes"."id", "nodes"."name", "nodes"."parent_id" FROM "nodes""#;

#[test]
fn join_along_one_to_many_infers_the_on_clause() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let by_title = session
            .query::<Author>()
            .join(Author::books)
            .filter(Book::title.eq("a2"))
            .all()
            .unwrap();
        assert_eq!(author_names(&by_title), ["Ben"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{AUTHORS} JOIN "books" ON "authors"."id" = "books"."author_id" WHERE "books"."title" = ?"#
                )
            )]
        );
        // Ann has two books, so two joined rows: one object; Cy has none, so no row.
        let with_books = session
            .query::<Author>()
            .join(Author::books)
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(author_names(&with_books), ["Ann", "Ben"]);
        assert!(with_books[0].ptr_eq(&by_title_or_get(&session, 1)));
    });
}

fn by_title_or_get(session: &Session, id: i64) -> Obj<Author> {
    session.get::<Author>(id).unwrap().unwrap()
}

#[test]
fn join_along_many_to_one_infers_the_on_clause() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let anns = session
            .query::<Book>()
            .join(Book::author)
            .filter(Author::name.eq("Ann"))
            .order_by(Book::title)
            .all()
            .unwrap();
        assert_eq!(titles(&anns), ["a1", "b1"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{BOOKS} JOIN "authors" ON "authors"."id" = "books"."author_id" WHERE "authors"."name" = ? ORDER BY "books"."title""#
                )
            )]
        );
        // The 2.0 form: the orphan book has no author to join.
        let joined = session
            .scalars(&Book::select().join(Book::author).order_by(Book::id))
            .unwrap();
        assert_eq!(titles(&joined), ["a1", "b1", "a2"]);
    });
}

#[test]
fn join_along_many_to_many_goes_through_the_association_table() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let sf = session
            .query::<Book>()
            .join(Book::tags)
            .filter(Tag::name.eq("sf"))
            .order_by(Book::title)
            .all()
            .unwrap();
        assert_eq!(titles(&sf), ["a1", "b1"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{BOOKS} JOIN "book_tags" ON "books"."id" = "book_tags"."book_id" JOIN "tags" ON "tags"."id" = "book_tags"."tag_id" WHERE "tags"."name" = ? ORDER BY "books"."title""#
                )
            )]
        );
        // The other side of the same association.
        let of_a2 = session
            .query::<Tag>()
            .join(Tag::books)
            .filter(Book::title.eq("a2"))
            .all()
            .unwrap();
        assert_eq!(tag_names(&of_a2), ["classic"]);
    });
}

#[test]
fn a_chain_of_relationships_joins_each_once() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let classic = session
            .query::<Author>()
            .join(Author::books.then(Book::tags))
            .filter(Tag::name.eq("classic"))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(author_names(&classic), ["Ann", "Ben"]);
        let expected = dialect_sql(
            db,
            &format!(
                r#"{AUTHORS} JOIN "books" ON "authors"."id" = "books"."author_id" JOIN "book_tags" ON "books"."id" = "book_tags"."book_id" JOIN "tags" ON "tags"."id" = "book_tags"."tag_id" WHERE "tags"."name" = ? ORDER BY "authors"."id""#
            ),
        );
        assert_eq!(selects(&capture), std::slice::from_ref(&expected));
        // Joining the first relationship alone, then the chain, joins books once.
        let again = session
            .query::<Author>()
            .join(Author::books)
            .join(Author::books.then(Book::tags))
            .filter(Tag::name.eq("classic"))
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(author_names(&again), ["Ann", "Ben"]);
        assert_eq!(selects(&capture), [expected]);
        // A chain through a many-to-one: authors of books tagged sf, from the books' side.
        let tagged = session
            .query::<Tag>()
            .join(Tag::books.then(Book::author))
            .filter(Author::name.eq("Ben"))
            .all()
            .unwrap();
        assert_eq!(tag_names(&tagged), ["classic"]);
    });
}

#[test]
fn outerjoin_keeps_parents_without_children() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let all = session
            .query::<Author>()
            .outerjoin(Author::books)
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(author_names(&all), ["Ann", "Ben", "Cy"]);
        let childless = session
            .query::<Author>()
            .outerjoin(Author::books)
            .filter(Book::id.is_null())
            .all()
            .unwrap();
        assert_eq!(author_names(&childless), ["Cy"]);
        assert_eq!(
            selects(&capture)[1],
            dialect_sql(
                db,
                &format!(
                    r#"{AUTHORS} LEFT OUTER JOIN "books" ON "authors"."id" = "books"."author_id" WHERE "books"."id" IS NULL"#
                )
            )
        );
        // Many-to-many: both joins are outer, so the untagged book stays.
        let untagged = session
            .query::<Book>()
            .outerjoin(Book::tags)
            .filter(Tag::id.is_null())
            .all()
            .unwrap();
        assert_eq!(titles(&untagged), ["orphan"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{BOOKS} LEFT OUTER JOIN "book_tags" ON "books"."id" = "book_tags"."book_id" LEFT OUTER JOIN "tags" ON "tags"."id" = "book_tags"."tag_id" WHERE "tags"."id" IS NULL"#
                )
            )]
        );
        // Many-to-one: the book without an author is kept.
        let books = session
            .scalars(&Book::select().outerjoin(Book::author).order_by(Book::id))
            .unwrap();
        assert_eq!(titles(&books), ["a1", "b1", "a2", "orphan"]);
    });
}

#[test]
fn any_is_a_correlated_exists_over_a_collection() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let wrote_a2 = session
            .query::<Author>()
            .filter(Author::books.any(Book::title.eq("a2")))
            .all()
            .unwrap();
        assert_eq!(author_names(&wrote_a2), ["Ben"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{AUTHORS} WHERE EXISTS (SELECT 1 FROM "books" WHERE "authors"."id" = "books"."author_id" AND "books"."title" = ?)"#
                )
            )]
        );
        let with_books = session
            .query::<Author>()
            .filter(Author::books.any_())
            .order_by(Author::id)
            .all()
            .unwrap();
        assert_eq!(author_names(&with_books), ["Ann", "Ben"]);
        let without = session
            .scalars(&Author::select().where_(!Author::books.any_()))
            .unwrap();
        assert_eq!(author_names(&without), ["Cy"]);
        assert_eq!(
            selects(&capture)[1],
            dialect_sql(
                db,
                &format!(
                    r#"{AUTHORS} WHERE NOT EXISTS (SELECT 1 FROM "books" WHERE "authors"."id" = "books"."author_id")"#
                )
            )
        );

        // Many-to-many: through the association table.
        let classic = session
            .query::<Book>()
            .filter(Book::tags.any(Tag::name.eq("classic")))
            .order_by(Book::title)
            .all()
            .unwrap();
        assert_eq!(titles(&classic), ["a1", "a2"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{BOOKS} WHERE EXISTS (SELECT 1 FROM "book_tags", "tags" WHERE "books"."id" = "book_tags"."book_id" AND "tags"."id" = "book_tags"."tag_id" AND "tags"."name" = ?) ORDER BY "books"."title""#
                )
            )]
        );
        let used = session
            .query::<Tag>()
            .filter(Tag::books.any_())
            .order_by(Tag::id)
            .all()
            .unwrap();
        assert_eq!(tag_names(&used), ["sf", "classic"]);

        // Nested: authors with a book tagged sf.
        let sf_authors = session
            .query::<Author>()
            .filter(Author::books.any(Book::tags.any(Tag::name.eq("sf"))))
            .all()
            .unwrap();
        assert_eq!(author_names(&sf_authors), ["Ann"]);
    });
}

#[test]
fn has_is_a_correlated_exists_over_a_reference() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let bens = session
            .query::<Book>()
            .filter(Book::author.has(Author::name.eq("Ben")))
            .all()
            .unwrap();
        assert_eq!(titles(&bens), ["a2"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{BOOKS} WHERE EXISTS (SELECT 1 FROM "authors" WHERE "authors"."id" = "books"."author_id" AND "authors"."name" = ?)"#
                )
            )]
        );
        let authored = session
            .query::<Book>()
            .filter(Book::author.has_())
            .order_by(Book::id)
            .all()
            .unwrap();
        assert_eq!(titles(&authored), ["a1", "b1", "a2"]);
        let orphans = session
            .query::<Book>()
            .filter(!Book::author.has_())
            .all()
            .unwrap();
        assert_eq!(titles(&orphans), ["orphan"]);
    });
}

#[test]
fn self_referential_any_and_has_alias_the_related_rows() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        // The condition names Node's columns: they are taken to be the child's.
        let parents_of_grandchild = session
            .query::<Node>()
            .filter(Node::children.any(Node::name.eq("grandchild")))
            .all()
            .unwrap();
        assert_eq!(node_names(&parents_of_grandchild), ["child1"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(
                    r#"{NODES} WHERE EXISTS (SELECT 1 FROM "nodes" AS "nodes_1" WHERE "nodes"."id" = "nodes_1"."parent_id" AND "nodes_1"."name" = ?)"#
                )
            )]
        );
        let inner = session
            .query::<Node>()
            .filter(Node::children.any_())
            .order_by(Node::id)
            .all()
            .unwrap();
        assert_eq!(node_names(&inner), ["root", "child1"]);
        let under_root = session
            .query::<Node>()
            .filter(Node::parent.has(Node::name.eq("root")))
            .order_by(Node::id)
            .all()
            .unwrap();
        assert_eq!(node_names(&under_root), ["child1", "child2"]);
        assert_eq!(
            selects(&capture)[1],
            dialect_sql(
                db,
                &format!(
                    r#"{NODES} WHERE EXISTS (SELECT 1 FROM "nodes" AS "nodes_1" WHERE "nodes_1"."id" = "nodes"."parent_id" AND "nodes_1"."name" = ?) ORDER BY "nodes"."id""#
                )
            )
        );
        let roots = session
            .query::<Node>()
            .filter(!Node::parent.has_())
            .all()
            .unwrap();
        assert_eq!(node_names(&roots), ["root"]);
    });
}

#[test]
fn with_parent_selects_a_parents_children() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let ann = session.get::<Author>(1).unwrap().unwrap();
        let ben = session.get::<Author>(2).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        let anns = session
            .scalars(
                &Book::select()
                    .with_parent(&ann, Author::books)
                    .order_by(Book::title),
            )
            .unwrap();
        assert_eq!(titles(&anns), ["a1", "b1"]);
        let sent = capture.take_with_params();
        let (sql, params) = sent
            .iter()
            .find(|(s, _)| kind_of(s) == "SELECT")
            .expect("a SELECT");
        assert_eq!(
            *sql,
            dialect_sql(
                db,
                &format!(r#"{BOOKS} WHERE "books"."author_id" = ? ORDER BY "books"."title""#)
            )
        );
        assert_eq!(params, &[Value::Int(1)]);
        // The legacy form, and the condition on its own in a filter.
        let bens = session
            .query::<Book>()
            .with_parent(&ben, Author::books)
            .all()
            .unwrap();
        assert_eq!(titles(&bens), ["a2"]);
        let condition = retort::orm::with_parent(&ben, Author::books).unwrap();
        assert_eq!(
            session.query::<Book>().filter(condition).count().unwrap(),
            1
        );
        // The children of a tree node.
        let root = session.get::<Node>(1).unwrap().unwrap();
        let children = session
            .query::<Node>()
            .with_parent(&root, Node::children)
            .order_by(Node::id)
            .all()
            .unwrap();
        assert_eq!(node_names(&children), ["child1", "child2"]);
    });
}

#[test]
fn with_parent_of_a_many_to_one_selects_the_referred_row() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let a2 = session.get::<Book>(3).unwrap().unwrap();
        let orphan = session.get::<Book>(4).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        let author = session
            .query::<Author>()
            .with_parent(&a2, Book::author)
            .all()
            .unwrap();
        assert_eq!(author_names(&author), ["Ben"]);
        assert_eq!(
            selects(&capture),
            [dialect_sql(
                db,
                &format!(r#"{AUTHORS} WHERE "authors"."id" = ?"#)
            )]
        );
        // A NULL foreign key relates to nothing.
        let none = session
            .query::<Author>()
            .with_parent(&orphan, Book::author)
            .all()
            .unwrap();
        assert!(none.is_empty());
    });
}

#[test]
fn with_parent_of_a_many_to_many_goes_through_the_association_table() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let a1 = session.get::<Book>(1).unwrap().unwrap();
        let sf = session.get::<Tag>(1).unwrap().unwrap();
        let capture = Capture::install(db.engine());
        let tags = session
            .scalars(
                &Tag::select()
                    .with_parent(&a1, Book::tags)
                    .order_by(Tag::name),
            )
            .unwrap();
        assert_eq!(tag_names(&tags), ["classic", "sf"]);
        let sent = capture.take_with_params();
        let (sql, params) = sent
            .iter()
            .find(|(s, _)| kind_of(s) == "SELECT")
            .expect("a SELECT");
        assert_eq!(
            *sql,
            dialect_sql(
                db,
                &format!(
                    r#"{TAGS} WHERE EXISTS (SELECT 1 FROM "book_tags" WHERE "tags"."id" = "book_tags"."tag_id" AND "book_tags"."book_id" = ?) ORDER BY "tags"."name""#
                )
            )
        );
        assert_eq!(params, &[Value::Int(1)]);
        let books = session
            .query::<Book>()
            .with_parent(&sf, Tag::books)
            .order_by(Book::title)
            .all()
            .unwrap();
        assert_eq!(titles(&books), ["a1", "b1"]);
    });
}

#[test]
fn with_parent_of_a_parent_without_a_key_or_unreadable_is_an_error() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        // Transient: no key yet.
        let nobody = Obj::new(author("Nobody"));
        let err = session
            .query::<Book>()
            .with_parent(&nobody, Author::books)
            .all()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m)
                if m.contains("Author.books") && m.contains("no value for id")),
            "{err}"
        );
        // Pending, before the flush that gives it a key.
        let pending = session.add(author("Pending"));
        let err = session
            .scalars(&Book::select().with_parent(&pending, Author::books))
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m) if m.contains("no value for id")),
            "{err}"
        );
        // A parent borrowed for writing cannot be read.
        let ann = session.get::<Author>(1).unwrap().unwrap();
        capture.clear();
        let guard = ann.write().unwrap();
        let err = session
            .query::<Book>()
            .with_parent(&ann, Author::books)
            .all()
            .unwrap_err();
        drop(guard);
        assert!(
            matches!(&err, Error::InvalidRequest(m)
                if m.contains("Author.books") && m.contains("cannot be read")),
            "{err}"
        );
        assert!(selects(&capture).is_empty(), "nothing was queried");
        // The free function reports the same.
        assert!(retort::orm::with_parent(&nobody, Author::books).is_err());
    });
}

#[test]
fn joining_a_table_twice_is_an_error_naming_it() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let err = session
            .query::<Node>()
            .join(Node::children)
            .all()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m)
                if m.contains("Node.children") && m.contains("'nodes'")),
            "{err}"
        );
        // Back to the query's own table through a chain.
        let err = session
            .query::<Book>()
            .join(Book::tags.then(Tag::books))
            .all()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m)
                if m.contains("Tag.books") && m.contains("'book_tags'")),
            "{err}"
        );
        assert!(selects(&capture).is_empty(), "nothing was queried");
    });
}

// ---------------------------------------------------------------- Core join inference

#[test]
fn core_join_inference_runs_on_the_same_tables() {
    for_each_backend(|db| {
        let registry = seed(db);
        let metadata = registry.metadata();
        let table = |name: &str| metadata.table(name).expect("table is registered");
        let (authors, books, book_tags, tags) = (
            table("authors"),
            table("books"),
            table("book_tags"),
            table("tags"),
        );
        let mut conn = db.engine().connect().unwrap();
        // books -> book_tags -> tags: each join finds the right-most table's foreign key.
        let stmt = select((books.c("title"), tags.c("name")))
            .join_table(&book_tags)
            .join_table(&tags)
            .order_by((books.c("title"), tags.c("name")));
        let rows: Vec<(String, String)> = conn
            .execute(&stmt)
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| (r.get("title").unwrap(), r.get("name").unwrap()))
            .collect();
        let pairs: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (&a[..], &b[..])).collect();
        assert_eq!(
            pairs,
            [
                ("a1", "classic"),
                ("a1", "sf"),
                ("a2", "classic"),
                ("b1", "sf")
            ]
        );
        // Authors without books through an inferred outer join.
        let stmt = select(authors.c("name"))
            .outerjoin_table(&books)
            .where_(books.c("id").is_null());
        let names: Vec<String> = conn
            .execute(&stmt)
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| r.get("name").unwrap())
            .collect();
        assert_eq!(names, ["Cy"]);
    });
}

#[test]
fn core_join_inference_errors_name_both_tables() {
    for_each_backend(|db| {
        let registry = seed(db);
        let metadata = registry.metadata();
        let authors = metadata.table("authors").unwrap();
        let tags = metadata.table("tags").unwrap();
        // Two foreign keys from one table to authors.
        let reviews = Table::new("reviews", metadata)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("writer_id", SqlType::Integer).foreign_key("authors.id"))
            .column(Column::new("subject_id", SqlType::Integer).foreign_key("authors.id"))
            .build()
            .unwrap();
        let mut conn = db.engine().connect().unwrap();
        let err = conn
            .execute(&select(authors.c("name")).join_table(&tags))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Compile(m)
                if m.contains("can't find any foreign key between 'authors' and 'tags'")),
            "{err}"
        );
        let err = conn
            .execute(&select(authors.c("name")).join_table(&reviews))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Compile(m)
                if m.contains("between 'authors' and 'reviews'")
                    && m.contains("reviews.writer_id -> authors.id")
                    && m.contains("reviews.subject_id -> authors.id")),
            "{err}"
        );
    });
}
