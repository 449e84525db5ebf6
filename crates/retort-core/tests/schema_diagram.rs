//! Golden tests of `MetaData::to_mermaid`: the exact Mermaid `erDiagram` text for keys,
//! nullability, types, composite and self-referencing foreign keys, association tables and
//! names Mermaid cannot take as they are.

use retort_core::schema::*;
use retort_core::types::SqlType;

fn id() -> Column {
    Column::new("id", SqlType::Integer).primary_key()
}

#[test]
fn an_empty_metadata_is_an_empty_diagram() {
    assert_eq!(MetaData::new().to_mermaid(), "erDiagram\n");
}

#[test]
fn columns_show_their_type_keys_nullability_and_comment() {
    let md = MetaData::new();
    Table::new("products", &md)
        .column(id())
        .column(Column::new("sku", SqlType::string(32)).not_null().unique())
        .column(Column::new("barcode", SqlType::Text).unique().index())
        .column(Column::new("price", SqlType::numeric(10, 2)).not_null())
        .column(Column::new(
            "weight",
            SqlType::Numeric {
                precision: Some(8),
                scale: None,
            },
        ))
        .column(Column::new(
            "ratio",
            SqlType::Numeric {
                precision: None,
                scale: None,
            },
        ))
        .column(Column::new("name", SqlType::String(None)).comment("shown in \"the\" shop"))
        .column(
            Column::new("flags", SqlType::SmallInteger)
                .not_null()
                .comment("bits"),
        )
        .column(Column::new("stock", SqlType::BigInteger))
        .column(Column::new("score", SqlType::Float))
        .column(Column::new("mass", SqlType::Double))
        .column(Column::new("active", SqlType::Boolean))
        .column(Column::new("since", SqlType::Date))
        .column(Column::new("opens", SqlType::Time))
        .column(Column::new("seen", SqlType::DateTime { timezone: false }))
        .column(Column::new("updated", SqlType::DateTime { timezone: true }))
        .column(Column::new("photo", SqlType::LargeBinary))
        .column(Column::new("extra", SqlType::Json))
        .column(Column::new("uid", SqlType::Uuid))
        .column(Column::new(
            "kind",
            SqlType::enumeration("product_kind", ["a", "b"]),
        ))
        .column(Column::new("x", SqlType::Custom("DOUBLE PRECISION".into())))
        .build()
        .unwrap();
    assert_eq!(
        md.to_mermaid(),
        r#"erDiagram
    "products" {
        INTEGER id PK
        VARCHAR(32) sku UK "not null"
        TEXT barcode UK
        NUMERIC(10_2) price "not null"
        NUMERIC(8) weight
        NUMERIC ratio
        VARCHAR name "shown in 'the' shop"
        SMALLINT flags "not null; bits"
        BIGINT stock
        FLOAT score
        DOUBLE mass
        BOOLEAN active
        DATE since
        TIME opens
        DATETIME seen
        DATETIME_TZ updated
        BLOB photo
        JSON extra
        UUID uid
        ENUM(product_kind) kind
        DOUBLE_PRECISION x
    }
"#
    );
}

#[test]
fn composite_keys_and_a_many_to_many_association_table() {
    let md = MetaData::new();
    Table::new("students", &md).column(id()).build().unwrap();
    Table::new("courses", &md)
        .column(id())
        .column(Column::new("term", SqlType::string(8)).not_null())
        .column(Column::new("code", SqlType::string(8)).not_null())
        .constraint(UniqueConstraint::new(["term", "code"]))
        .build()
        .unwrap();
    // The association table: its primary key is its two foreign keys.
    Table::new("enrollments", &md)
        .column(
            Column::new("student_id", SqlType::Integer)
                .primary_key()
                .foreign_key("students.id"),
        )
        .column(
            Column::new("course_id", SqlType::Integer)
                .primary_key()
                .foreign_key("courses.id"),
        )
        .build()
        .unwrap();
    // A composite foreign key to the association table, nullable.
    Table::new("grades", &md)
        .column(id())
        .column(Column::new("student_id", SqlType::Integer))
        .column(Column::new("course_id", SqlType::Integer))
        .column(Column::new("mark", SqlType::SmallInteger).not_null())
        .constraint(ForeignKeyConstraint::new(
            ["student_id", "course_id"],
            "enrollments",
            ["student_id", "course_id"],
        ))
        .build()
        .unwrap();
    assert_eq!(
        md.to_mermaid(),
        r#"erDiagram
    "students" {
        INTEGER id PK
    }
    "courses" {
        INTEGER id PK
        VARCHAR(8) term UK "not null"
        VARCHAR(8) code UK "not null"
    }
    "enrollments" {
        INTEGER student_id PK, FK
        INTEGER course_id PK, FK
    }
    "grades" {
        INTEGER id PK
        INTEGER student_id FK
        INTEGER course_id FK
        SMALLINT mark "not null"
    }
    "students" ||--o{ "enrollments" : "student_id"
    "courses" ||--o{ "enrollments" : "course_id"
    "enrollments" |o..o{ "grades" : "student_id, course_id"
"#
    );
}

#[test]
fn one_to_one_links_and_a_self_reference() {
    let md = MetaData::new();
    Table::new("employees", &md)
        .column(id())
        .column(Column::new("manager_id", SqlType::Integer).foreign_key("employees.id"))
        .build()
        .unwrap();
    // Unique and NOT NULL: exactly one employee, at most one badge each.
    Table::new("badges", &md)
        .column(id())
        .column(
            Column::new("employee_id", SqlType::Integer)
                .not_null()
                .unique()
                .foreign_key("employees.id"),
        )
        .build()
        .unwrap();
    // Unique through a unique index, and nullable.
    Table::new("desks", &md)
        .column(id())
        .column(Column::new("employee_id", SqlType::Integer).foreign_key("employees.id"))
        .index(Index::new("ix_desks_employee", ["employee_id"]).unique())
        .build()
        .unwrap();
    // The primary key is the foreign key: an identifying one-to-one.
    Table::new("contracts", &md)
        .column(
            Column::new("employee_id", SqlType::Integer)
                .primary_key()
                .foreign_key("employees.id"),
        )
        .build()
        .unwrap();
    assert_eq!(
        md.to_mermaid(),
        r#"erDiagram
    "employees" {
        INTEGER id PK
        INTEGER manager_id FK
    }
    "badges" {
        INTEGER id PK
        INTEGER employee_id FK, UK "not null"
    }
    "desks" {
        INTEGER id PK
        INTEGER employee_id FK, UK
    }
    "contracts" {
        INTEGER employee_id PK, FK
    }
    "employees" |o..o{ "employees" : "manager_id"
    "employees" ||..o| "badges" : "employee_id"
    "employees" |o..o| "desks" : "employee_id"
    "employees" ||--o| "contracts" : "employee_id"
"#
    );
}

#[test]
fn odd_names_are_quoted_or_made_into_mermaid_words() {
    let md = MetaData::new();
    Table::new("order items", &md)
        .schema("shop")
        .column(id())
        .column(Column::new("unit price", SqlType::numeric(8, 2)))
        .column(Column::new("pk", SqlType::Integer).not_null())
        .column(Column::new(
            "1st",
            SqlType::Custom("character varying(20)".into()),
        ))
        .column(Column::new("größe", SqlType::Integer).comment("cm"))
        .column(Column::new("customer_id", SqlType::Integer).foreign_key("customers.id"))
        .build()
        .unwrap();
    // `one` is a Mermaid cardinality keyword; quoting keeps it a name.
    Table::new("one", &md)
        .column(id())
        .column(
            Column::new("item_id", SqlType::Integer)
                .foreign_key(ForeignKey::new("shop.order items.id")),
        )
        .build()
        .unwrap();
    Table::new("100% \"real\"\\data", &md)
        .column(id())
        .build()
        .unwrap();
    assert_eq!(
        md.to_mermaid(),
        r#"erDiagram
    "shop.order items" {
        INTEGER id PK
        NUMERIC(8_2) unit_price "column: unit price"
        INTEGER pk_ "column: pk; not null"
        character_varying(20) _1st "column: 1st"
        INTEGER gr__e "column: größe; cm"
        INTEGER customer_id FK
    }
    "one" {
        INTEGER id PK
        INTEGER item_id FK
    }
    "100_ _real__data" {
        INTEGER id PK
    }
    "customers" |o..o{ "shop.order items" : "customer_id"
    "shop.order items" |o..o{ "one" : "item_id"
"#
    );
}
