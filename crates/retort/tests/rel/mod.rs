//! Models with relationships, shared by the relationship test files: one-to-many with
//! `back_populates` and `order_by` (authors and books), many-to-many through an association
//! table (books and tags), a delete-orphan cascade (orders and lines), and a self-referential
//! tree (nodes).

#![allow(dead_code)]

use retort::orm::{Many, One, Registry};
use retort::prelude::*;
use retort_testkit::TestDb;

use crate::common::Checker;

retort::orm::association_table! {
    /// Links books and tags.
    pub static BOOK_TAGS = "book_tags" {
        book_id: i64 => "books.id",
        tag_id: i64 => "tags.id",
    }
}

#[derive(Model, Debug, Default)]
#[retort(table = "authors")]
pub struct Author {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub name: Option<String>,
    #[retort(relationship(back_populates = "author", order_by = "title"))]
    pub books: Many<Book>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "books")]
pub struct Book {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub title: Option<String>,
    #[retort(foreign_key = "authors.id")]
    pub author_id: Option<i64>,
    #[retort(relationship(back_populates = "books"))]
    pub author: One<Author>,
    #[retort(relationship(secondary = "book_tags", back_populates = "books", order_by = "name"))]
    pub tags: Many<Tag>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "tags")]
pub struct Tag {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub name: Option<String>,
    #[retort(relationship(secondary = "book_tags", back_populates = "tags"))]
    pub books: Many<Book>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "orders")]
pub struct Order {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub customer: Option<String>,
    #[retort(relationship(
        back_populates = "order",
        cascade = "all, delete-orphan",
        order_by = "id"
    ))]
    pub lines: Many<Line>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "lines")]
pub struct Line {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "orders.id")]
    pub order_id: Option<i64>,
    #[retort(length = 30)]
    pub product: Option<String>,
    #[retort(relationship(back_populates = "lines"))]
    pub order: One<Order>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "nodes")]
pub struct Node {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 30)]
    pub name: Option<String>,
    #[retort(foreign_key = "nodes.id")]
    pub parent_id: Option<i64>,
    #[retort(relationship(
        back_populates = "parent",
        cascade = "all, delete-orphan",
        order_by = "name"
    ))]
    pub children: Many<Node>,
    #[retort(relationship(back_populates = "children"))]
    pub parent: One<Node>,
}

/// The books' titles, in order.
pub fn titles(books: &[Obj<Book>]) -> Vec<String> {
    books
        .iter()
        .map(|b| b.read().unwrap().title.clone().unwrap_or_default())
        .collect()
}

/// Three authors with three books each (titles inserted out of order), and tags on books.
pub fn seed_library(db: &TestDb) {
    let checker = Checker::new(db);
    for name in ["Ann", "Ben", "Cy"] {
        checker.exec(
            db,
            "INSERT INTO authors (name) VALUES (?)",
            &[Value::Text(name.into())],
        );
    }
    for author in 1..=3i64 {
        for title in ["c", "a", "b"] {
            checker.exec(
                db,
                "INSERT INTO books (title, author_id) VALUES (?, ?)",
                &[Value::Text(format!("{title}{author}")), Value::Int(author)],
            );
        }
    }
    for name in ["red", "blue"] {
        checker.exec(
            db,
            "INSERT INTO tags (name) VALUES (?)",
            &[Value::Text(name.into())],
        );
    }
    // Book 1 ("c1") has both tags, book 2 ("a1") has "red".
    for (book, tag) in [(1, 1), (1, 2), (2, 1)] {
        checker.exec(
            db,
            "INSERT INTO book_tags (book_id, tag_id) VALUES (?, ?)",
            &[Value::Int(book), Value::Int(tag)],
        );
    }
}

/// Creates every table of these models on `db`.
pub fn create_all(db: &TestDb) -> Registry {
    let registry = Registry::new();
    for register in [
        Registry::register::<Author>,
        Registry::register::<Book>,
        Registry::register::<Tag>,
        Registry::register::<Order>,
        Registry::register::<Line>,
        Registry::register::<Node>,
    ] {
        register(&registry).expect("model registers");
    }
    registry
        .register_table(&BOOK_TAGS)
        .expect("association table registers");
    registry
        .metadata()
        .create_all(db.engine())
        .expect("tables are created");
    registry
}

pub fn author(name: &str) -> Author {
    Author {
        name: Some(name.into()),
        ..Default::default()
    }
}

pub fn book(title: &str) -> Book {
    Book {
        title: Some(title.into()),
        ..Default::default()
    }
}

pub fn tag(name: &str) -> Tag {
    Tag {
        name: Some(name.into()),
        ..Default::default()
    }
}

pub fn node(name: &str) -> Node {
    Node {
        name: Some(name.into()),
        ..Default::default()
    }
}
