//! Autogenerate against live databases: tables created from the models compare equal to
//! the models on every backend (no false differences), and a real change is found.

use retort_core::dialect::Dialect;
use retort_core::schema::*;
use retort_core::types::SqlType;
use retort_migrate::autogenerate::{compare, CompareOptions, Comparison};
use retort_testkit::{for_each_backend, TestDb};

/// Every column type, defaults, keys, indexes and constraints, declared the ways models do.
fn declare(metadata: &MetaData) {
    Table::new("authors", metadata)
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(Column::new("name", SqlType::string(80)).not_null().index())
        .column(Column::new("email", SqlType::string(120)).unique())
        .column(Column::new("bio", SqlType::Text))
        .column(Column::new("status", SqlType::string(10)).server_default("active"))
        .column(
            Column::new("score", SqlType::Integer)
                .not_null()
                .server_default(0),
        )
        .column(Column::new("verified", SqlType::Boolean).server_default(false))
        .column(Column::new(
            "mood",
            SqlType::enumeration("mood", ["happy", "sad"]),
        ))
        .build()
        .unwrap();
    Table::new("books", metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("author_id", SqlType::BigInteger)
                .not_null()
                .foreign_key(ForeignKey::new("authors.id").on_delete(ReferentialAction::Cascade)),
        )
        .column(
            Column::new("editor_id", SqlType::BigInteger)
                .foreign_key(ForeignKey::new("authors.id").on_delete(ReferentialAction::SetNull)),
        )
        .column(Column::new("title", SqlType::string(200)).not_null())
        .column(Column::new("price", SqlType::numeric(10, 2)))
        .column(Column::new("weight", SqlType::Double))
        .column(Column::new("ratio", SqlType::Float))
        .column(Column::new("pages", SqlType::SmallInteger))
        .column(Column::new("published", SqlType::Date))
        .column(Column::new("at", SqlType::Time))
        .column(Column::new(
            "created",
            SqlType::DateTime { timezone: false },
        ))
        .column(Column::new("stamped", SqlType::DateTime { timezone: true }))
        .column(Column::new("cover", SqlType::LargeBinary))
        .column(Column::new("meta", SqlType::Json))
        .column(Column::new("isbn_uuid", SqlType::Uuid))
        .constraint(UniqueConstraint::new(["author_id", "title"]).named("uq_books_author_title"))
        .constraint(CheckConstraint::new("pages >= 0").named("ck_books_pages"))
        .index(Index::new("ix_books_published_at", ["published", "at"]))
        .index(Index::new("ux_books_isbn", ["isbn_uuid"]).unique())
        .build()
        .unwrap();
    Table::new("book_tags", metadata)
        .column(
            Column::new("book_id", SqlType::Integer)
                .primary_key()
                .foreign_key(ForeignKey::new("books.id")),
        )
        .column(Column::new("tag", SqlType::string(30)).primary_key())
        .build()
        .unwrap();
}

fn diff(db: &TestDb, metadata: &MetaData) -> Comparison {
    let mut conn = db.engine().connect().unwrap();
    let tables = conn.inspect().tables(None).unwrap();
    compare(
        db.engine().dialect(),
        metadata,
        &tables,
        &CompareOptions::default(),
    )
    .unwrap()
}

#[test]
fn tables_created_from_the_models_show_no_difference() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();
        let found = diff(db, &metadata);
        assert!(
            found.is_empty(),
            "{}: false differences {:#?}",
            db.name(),
            found.summaries()
        );
    });
}

#[test]
fn an_empty_database_needs_every_table_in_foreign_key_order() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        assert_eq!(
            diff(db, &metadata).summaries(),
            [
                "add table authors",
                "add table books",
                "add table book_tags"
            ],
            "{}",
            db.name()
        );
    });
}

#[test]
fn changed_models_show_exactly_their_changes() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();

        let changed = MetaData::new();
        declare(&changed);
        Table::new("authors", &changed)
            .extend_existing()
            .column(Column::new("bio", SqlType::Text).not_null())
            .column(Column::new("twitter", SqlType::string(40)).index())
            .column(
                Column::new("score", SqlType::BigInteger)
                    .not_null()
                    .server_default(0),
            )
            .build()
            .unwrap();
        let d: &dyn Dialect = db.engine().dialect();
        let found = diff(db, &changed);
        assert_eq!(
            found.summaries(),
            [
                "add column authors.twitter",
                "change nullability of column authors.bio",
                "change type of column authors.score",
                "add index ix_authors_twitter on authors(twitter)",
            ],
            "{}",
            d.name()
        );
    });
}
