//! Reflection on SQLite, PostgreSQL and MariaDB/MySQL: tables created through Core, read back
//! with the Inspector attribute by attribute, and a round trip (reflect, create the reflected
//! tables in a second fresh database, reflect again: the same description).

use retort_core::schema::*;
use retort_core::types::SqlType;
use retort_core::{Engine, Error};
use retort_testkit::{for_each_backend, TestDb};

/// `parent` and `child`: every column type, defaults, keys, indexes and named constraints.
fn declare(metadata: &MetaData) {
    Table::new("parent", metadata)
        .comment("parents of children")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("code", SqlType::string(20)).not_null())
        .column(
            Column::new("name", SqlType::String(None))
                .server_default(ServerDefault::value("abc"))
                .comment("what it is called"),
        )
        .column(
            Column::new("qty", SqlType::Integer)
                .not_null()
                .server_default(ServerDefault::value(42)),
        )
        .column(Column::new("active", SqlType::Boolean).server_default(ServerDefault::value(true)))
        .constraint(UniqueConstraint::new(["code"]).named("uq_parent_code"))
        .constraint(CheckConstraint::new("qty > 0").named("ck_parent_qty"))
        .build()
        .unwrap();
    Table::new("child", metadata)
        .column(Column::new("a", SqlType::Integer).primary_key())
        .column(Column::new("b", SqlType::Integer).primary_key())
        .column(Column::new("small", SqlType::SmallInteger).not_null())
        .column(Column::new("big", SqlType::BigInteger))
        .column(Column::new("f", SqlType::Float))
        .column(Column::new("d", SqlType::Double))
        .column(Column::new("num", SqlType::numeric(10, 2)))
        .column(Column::new("s", SqlType::string(50)))
        .column(Column::new("txt", SqlType::Text))
        .column(Column::new("flag", SqlType::Boolean).not_null())
        .column(Column::new("day", SqlType::Date))
        .column(Column::new("tm", SqlType::Time))
        .column(Column::new("ts", SqlType::DateTime { timezone: false }))
        .column(Column::new("tstz", SqlType::DateTime { timezone: true }))
        .column(Column::new("bin", SqlType::LargeBinary))
        .column(Column::new("doc", SqlType::Json))
        .column(Column::new("uid", SqlType::Uuid))
        .column(Column::new(
            "mood",
            SqlType::enumeration("mood", ["happy", "sad"]),
        ))
        .column(
            Column::new("parent_id", SqlType::Integer)
                .not_null()
                .foreign_key(ForeignKey::new("parent.id").on_delete(ReferentialAction::Cascade))
                .comment("the owner"),
        )
        .column(
            Column::new("other_id", SqlType::Integer).foreign_key(
                ForeignKey::new("parent.id")
                    .named("fk_child_other")
                    .on_delete(ReferentialAction::SetNull),
            ),
        )
        .constraint(UniqueConstraint::new(["big", "small"]).named("uq_child_big_small"))
        .constraint(CheckConstraint::new("f >= 0").named("ck_child_f"))
        .index(Index::new("ix_child_s", ["s"]))
        .index(Index::new("ix_child_day_tm", ["day", "tm"]))
        .index(Index::new("ux_child_uid", ["uid"]).unique())
        .build()
        .unwrap();
}

fn col(name: &str, sql_type: SqlType, nullable: bool) -> ReflectedColumn {
    ReflectedColumn {
        name: name.into(),
        sql_type,
        nullable,
        server_default: None,
        autoincrement: false,
        comment: None,
    }
}

fn fresh(db: &TestDb) -> TestDb {
    match db.name() {
        "sqlite" => retort_testkit::sqlite(),
        "postgresql" => retort_testkit::postgresql().unwrap(),
        _ => retort_testkit::mysql().unwrap(),
    }
}

/// Every table of the engine's default schema.
fn reflect_all(engine: &Engine) -> Vec<ReflectedTable> {
    engine.connect().unwrap().inspect().tables(None).unwrap()
}

/// Creates `tables` in a fresh database of `db`'s backend; returns that database (kept so it
/// lives on) and what reflecting it gives.
fn recreate_elsewhere(db: &TestDb, tables: &[ReflectedTable]) -> (TestDb, Vec<ReflectedTable>) {
    let copy = MetaData::new();
    for table in tables {
        table.to_table(&copy).unwrap();
    }
    let other = fresh(db);
    copy.create_all(other.engine()).unwrap();
    let reflected = reflect_all(other.engine());
    (other, reflected)
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn reflects_every_attribute_of_core_tables() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();
        let (sqlite, pg) = (db.name() == "sqlite", db.name() == "postgresql");
        let mut conn = db.engine().connect().unwrap();
        let mut inspector = conn.inspect();

        // parent
        let parent = inspector.table("parent", None).unwrap();
        let (abc, truth) = match db.name() {
            "postgresql" => ("'abc'::character varying", "true"),
            _ => ("'abc'", "1"),
        };
        let mut id = col("id", SqlType::Integer, false);
        id.autoincrement = true;
        let mut name = col(
            "name",
            if db.name() == "mysql" {
                SqlType::string(255)
            } else {
                SqlType::String(None)
            },
            true,
        );
        name.server_default = Some(abc.into());
        name.comment = (!sqlite).then(|| "what it is called".into());
        let mut qty = col("qty", SqlType::Integer, false);
        qty.server_default = Some("42".into());
        let mut active = col("active", SqlType::Boolean, true);
        active.server_default = Some(truth.into());
        assert_eq!(
            parent.columns,
            [
                id,
                col("code", SqlType::string(20), false),
                name,
                qty,
                active
            ]
        );
        assert_eq!(
            parent.primary_key,
            Some(ReflectedPrimaryKey {
                name: pg.then(|| "parent_pkey".into()),
                columns: strings(&["id"]),
            })
        );
        assert_eq!(
            parent.unique_constraints,
            [ReflectedUnique {
                name: Some("uq_parent_code".into()),
                columns: strings(&["code"]),
            }]
        );
        let qty_check = match db.name() {
            "postgresql" => "(qty > 0)",
            "mysql" => "`qty` > 0",
            _ => "qty > 0",
        };
        assert_eq!(
            parent.check_constraints,
            [ReflectedCheck {
                name: Some("ck_parent_qty".into()),
                sqltext: qty_check.into(),
            }]
        );
        assert_eq!(parent.foreign_keys, []);
        assert_eq!(parent.indexes, []);
        assert_eq!(
            parent.comment.as_deref(),
            (!sqlite).then_some("parents of children")
        );
        assert_eq!(parent.schema, None);

        // child
        let child = inspector.table("child", None).unwrap();
        let (tstz, doc, mood) = match db.name() {
            "sqlite" => (
                SqlType::DateTime { timezone: false },
                SqlType::Text,
                SqlType::string(5),
            ),
            "postgresql" => (
                SqlType::DateTime { timezone: true },
                SqlType::Json,
                SqlType::enumeration("mood", ["happy", "sad"]),
            ),
            _ => (
                SqlType::DateTime { timezone: false },
                SqlType::Json,
                SqlType::enumeration("", ["happy", "sad"]),
            ),
        };
        let mut parent_id = col("parent_id", SqlType::Integer, false);
        parent_id.comment = (!sqlite).then(|| "the owner".into());
        assert_eq!(
            child.columns,
            [
                col("a", SqlType::Integer, false),
                col("b", SqlType::Integer, false),
                col("small", SqlType::SmallInteger, false),
                col("big", SqlType::BigInteger, true),
                col("f", SqlType::Float, true),
                col("d", SqlType::Double, true),
                col("num", SqlType::numeric(10, 2), true),
                col("s", SqlType::string(50), true),
                col("txt", SqlType::Text, true),
                col("flag", SqlType::Boolean, false),
                col("day", SqlType::Date, true),
                col("tm", SqlType::Time, true),
                col("ts", SqlType::DateTime { timezone: false }, true),
                col("tstz", tstz, true),
                col("bin", SqlType::LargeBinary, true),
                col("doc", doc, true),
                col("uid", SqlType::Uuid, true),
                col("mood", mood, true),
                parent_id,
                col("other_id", SqlType::Integer, true),
            ]
        );
        assert_eq!(
            child.primary_key,
            Some(ReflectedPrimaryKey {
                name: pg.then(|| "child_pkey".into()),
                columns: strings(&["a", "b"]),
            })
        );
        let cascade_name = match db.name() {
            "postgresql" => Some("child_parent_id_fkey".to_owned()),
            "mysql" => Some("child_ibfk_1".to_owned()),
            _ => None,
        };
        let mut fks = vec![
            ReflectedForeignKey {
                name: cascade_name,
                columns: strings(&["parent_id"]),
                referred_schema: None,
                referred_table: "parent".into(),
                referred_columns: strings(&["id"]),
                ondelete: Some(ReferentialAction::Cascade),
                onupdate: None,
            },
            ReflectedForeignKey {
                name: Some("fk_child_other".into()),
                columns: strings(&["other_id"]),
                referred_schema: None,
                referred_table: "parent".into(),
                referred_columns: strings(&["id"]),
                ondelete: Some(ReferentialAction::SetNull),
                onupdate: None,
            },
        ];
        fks.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(child.foreign_keys, fks);

        let index = |name: &str, columns: &[&str], unique: bool| ReflectedIndex {
            name: name.into(),
            columns: strings(columns),
            unique,
        };
        let unique = |name: &str, columns: &[&str]| ReflectedUnique {
            name: Some(name.into()),
            columns: strings(columns),
        };
        if db.name() == "mysql" {
            // A unique index is a unique constraint there; the foreign keys' own indexes are
            // not listed.
            assert_eq!(
                child.indexes,
                [
                    index("ix_child_day_tm", &["day", "tm"], false),
                    index("ix_child_s", &["s"], false),
                ]
            );
            assert_eq!(
                child.unique_constraints,
                [
                    unique("uq_child_big_small", &["big", "small"]),
                    unique("ux_child_uid", &["uid"]),
                ]
            );
        } else {
            assert_eq!(
                child.indexes,
                [
                    index("ix_child_day_tm", &["day", "tm"], false),
                    index("ix_child_s", &["s"], false),
                    index("ux_child_uid", &["uid"], true),
                ]
            );
            assert_eq!(
                child.unique_constraints,
                [unique("uq_child_big_small", &["big", "small"])]
            );
        }
        let mut checks = vec![ReflectedCheck {
            name: Some("ck_child_f".into()),
            sqltext: match db.name() {
                "postgresql" => "(f >= (0)::double precision)",
                "mysql" => "`f` >= 0",
                _ => "f >= 0",
            }
            .into(),
        }];
        if sqlite {
            // The enum's CHECK, unnamed, as Core wrote it.
            checks.insert(
                0,
                ReflectedCheck {
                    name: None,
                    sqltext: "\"mood\" IN ('happy', 'sad')".into(),
                },
            );
        }
        assert_eq!(child.check_constraints, checks);
        assert_eq!(child.comment, None);

        // The single-attribute methods say the same as table().
        assert_eq!(inspector.columns("child", None).unwrap(), child.columns);
        assert_eq!(
            inspector.primary_key("child", None).unwrap(),
            child.primary_key
        );
        assert_eq!(
            inspector.foreign_keys("child", None).unwrap(),
            child.foreign_keys
        );
        assert_eq!(inspector.indexes("child", None).unwrap(), child.indexes);
        assert_eq!(
            inspector.unique_constraints("child", None).unwrap(),
            child.unique_constraints
        );
        assert_eq!(
            inspector.check_constraints("child", None).unwrap(),
            child.check_constraints
        );
        assert_eq!(
            inspector.table_comment("parent", None).unwrap(),
            parent.comment
        );

        // Naming the default schema explicitly finds the same tables.
        let schema = inspector.default_schema().unwrap().unwrap();
        let explicit = inspector.table("child", Some(&schema)).unwrap();
        assert_eq!(explicit.schema.as_deref(), Some(schema.as_str()));
        assert_eq!(explicit.columns, child.columns);
        assert_eq!(explicit.foreign_keys, child.foreign_keys);
    });
}

#[test]
fn table_names_has_table_and_missing_tables() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql("CREATE VIEW parent_view AS SELECT id FROM parent", &[])
            .unwrap();
        if db.name() == "sqlite" {
            // AUTOINCREMENT makes SQLite create its internal sqlite_sequence table.
            conn.exec_driver_sql(
                "CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT)",
                &[],
            )
            .unwrap();
        }
        let mut inspector = conn.inspect();
        let mut expected = vec!["child", "parent"];
        if db.name() == "sqlite" {
            expected.insert(1, "counter");
        }
        assert_eq!(inspector.table_names(None).unwrap(), expected);
        assert!(inspector.has_table("parent", None).unwrap());
        assert!(!inspector.has_table("parent_view", None).unwrap());
        assert!(!inspector.has_table("nope", None).unwrap());

        let err = inspector.table("nope", None).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m) if m.contains("no table 'nope'")),
            "{err}"
        );
        let err = inspector.columns("nope", None).unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("'nope'")));
        let err = inspector.indexes("parent_view", None).unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("'parent_view'")));
    });
}

#[test]
fn round_trip_through_a_second_database() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();
        let first = reflect_all(db.engine());
        assert_eq!(first.len(), 2);

        let (other, second) = recreate_elsewhere(db, &first);
        assert_eq!(second, first);

        // The copy behaves like the original: server defaults and the autoincrementing key
        // fill in a row.
        let mut conn = other.engine().connect().unwrap();
        conn.exec_driver_sql("INSERT INTO parent (code) VALUES ('x')", &[])
            .unwrap();
        let row = conn
            .exec_driver_sql("SELECT id, name, qty FROM parent", &[])
            .unwrap()
            .one()
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 1);
        assert_eq!(row.get::<String>(1).unwrap(), "abc");
        assert_eq!(row.get::<i64>(2).unwrap(), 42);
    });
}

#[test]
fn metadata_reflect_and_reflect_only() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        declare(&metadata);
        metadata.create_all(db.engine()).unwrap();

        let reflected = MetaData::new();
        let tables = reflected.reflect(db.engine()).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["child", "parent"]);
        let child = reflected.table("child").unwrap();
        assert_eq!(
            child.column("num").unwrap().sql_type(),
            &SqlType::numeric(10, 2)
        );
        assert!(!child.column("flag").unwrap().is_nullable());

        // Inside a transaction the caller holds: a table it just created is seen (and gone
        // after the rollback where DDL is transactional).
        let mut conn = db.engine().connect().unwrap();
        let mut tx = conn.begin().unwrap();
        tx.exec_driver_sql("CREATE TABLE fresh_one (x INTEGER NOT NULL)", &[])
            .unwrap();
        let only = MetaData::new();
        let tables = only
            .reflect_only(&mut tx, None, &["fresh_one", "parent"])
            .unwrap();
        assert_eq!(tables[0].name(), "fresh_one");
        assert!(!tables[0].column("x").unwrap().is_nullable());
        assert_eq!(
            tables[1].column("qty").unwrap().get_server_default(),
            Some(&ServerDefault::text("42"))
        );
        assert!(only.table("child").is_none());
        let err = only.reflect_only(&mut tx, None, &["missing"]).unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("'missing'")));
        tx.rollback().unwrap();
        let transactional = db.engine().dialect().capabilities().transactional_ddl;
        let seen = conn.inspect().has_table("fresh_one", None).unwrap();
        assert_eq!(seen, !transactional);
    });
}

#[test]
fn awkward_names_and_check_text_survive() {
    for_each_backend(|db| {
        let d = db.engine().dialect();
        let mut quoted = String::new();
        d.quote_identifier("the col", &mut quoted);
        let metadata = MetaData::new();
        Table::new("my parent", &metadata)
            .column(Column::new("key id", SqlType::Integer))
            .constraint(PrimaryKeyConstraint::new(["key id"]).named("pk my parent"))
            .build()
            .unwrap();
        Table::new("my table", &metadata)
            .column(Column::new("the col", SqlType::string(10)))
            .column(Column::new("ref", SqlType::Integer))
            .constraint(
                CheckConstraint::new(format!("{quoted} <> 'a,(b' AND ({quoted} <> ')')"))
                    .named("ck, odd"),
            )
            .constraint(UniqueConstraint::new(["the col"]).named("uq (odd)"))
            .constraint(
                ForeignKeyConstraint::new(["ref"], "my parent", ["key id"]).named("fk \"odd\""),
            )
            .build()
            .unwrap();
        metadata.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        let table = conn.inspect().table("my table", None).unwrap();
        assert_eq!(table.check_constraints[0].name.as_deref(), Some("ck, odd"));
        assert!(table.check_constraints[0].sqltext.contains("'a,(b'"));
        if db.name() == "sqlite" {
            assert_eq!(
                table.check_constraints[0].sqltext,
                "\"the col\" <> 'a,(b' AND (\"the col\" <> ')')"
            );
        }
        assert_eq!(
            table.unique_constraints,
            [ReflectedUnique {
                name: Some("uq (odd)".into()),
                columns: strings(&["the col"]),
            }]
        );
        assert_eq!(table.foreign_keys[0].name.as_deref(), Some("fk \"odd\""));
        assert_eq!(table.foreign_keys[0].referred_table, "my parent");
        assert_eq!(table.foreign_keys[0].referred_columns, strings(&["key id"]));
        let parent = conn.inspect().table("my parent", None).unwrap();
        let pk_name = (db.name() != "mysql").then(|| "pk my parent".to_owned());
        assert_eq!(parent.primary_key.unwrap().name, pk_name);

        let first = conn.inspect().tables(None).unwrap();
        let (_other, second) = recreate_elsewhere(db, &first);
        assert_eq!(second, first);
    });
}

#[test]
fn hand_written_tables_map_other_spellings() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let (ddl, expected): (&str, Vec<(&str, SqlType, bool)>) = match db.name() {
            "sqlite" => (
                "CREATE TABLE raw (id INT PRIMARY KEY, r REAL, j JSON, v varchar( 10 ), \
                 n NUMERIC(8))",
                vec![
                    // Only INTEGER makes the rowid alias.
                    ("id", SqlType::Custom("INT".into()), false),
                    ("r", SqlType::Custom("REAL".into()), false),
                    ("j", SqlType::Custom("JSON".into()), false),
                    ("v", SqlType::string(10), false),
                    (
                        "n",
                        SqlType::Numeric {
                            precision: Some(8),
                            scale: None,
                        },
                        false,
                    ),
                ],
            ),
            "postgresql" => (
                "CREATE TABLE raw (id serial PRIMARY KEY, j json, t timestamp(3), \
                 c char(4), a integer[])",
                vec![
                    ("id", SqlType::Integer, true),
                    ("j", SqlType::Custom("json".into()), false),
                    (
                        "t",
                        SqlType::Custom("timestamp(3) without time zone".into()),
                        false,
                    ),
                    ("c", SqlType::Custom("character(4)".into()), false),
                    ("a", SqlType::Custom("integer[]".into()), false),
                ],
            ),
            _ => (
                "CREATE TABLE raw (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, t TEXT, \
                 dt DATETIME, ti TINYINT, b BIGINT(20))",
                vec![
                    ("id", SqlType::Custom("int(10) unsigned".into()), true),
                    ("t", SqlType::Custom("text".into()), false),
                    ("dt", SqlType::Custom("datetime".into()), false),
                    ("ti", SqlType::Custom("tinyint(4)".into()), false),
                    ("b", SqlType::BigInteger, false),
                ],
            ),
        };
        conn.exec_driver_sql(ddl, &[]).unwrap();
        let columns = conn.inspect().columns("raw", None).unwrap();
        let got: Vec<(&str, SqlType, bool)> = columns
            .iter()
            .map(|c| (c.name.as_str(), c.sql_type.clone(), c.autoincrement))
            .collect();
        assert_eq!(got, expected);
        // A serial's nextval() is how it autoincrements, not a server default.
        assert_eq!(columns[0].server_default, None);
        assert!(!columns[0].nullable);
    });
}
