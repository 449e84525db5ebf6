//! What `#[derive(Model)]` generates, end to end: the default table name, column constants
//! renamed around a clash with the model's own methods, and conversion errors that name the
//! model and field a database value could not be read into — on SQLite, PostgreSQL and
//! MariaDB.

mod common;

use common::{create_tables, Capture, Checker};
use retort::orm::Model as _;
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

/// No `table = ..`: the table is named after the struct, in snake_case.
#[derive(Model, Debug, Default)]
pub struct HTTPServer {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

#[test]
fn the_default_table_name_is_the_structs_name_in_snake_case() {
    assert_eq!(HTTPServer::mapper().table_name(), "http_server");
}

/// A getter per field would clash with the column constants; `const_name` renames one.
#[derive(Model, Debug, Default)]
#[retort(table = "people")]
pub struct Person {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50, const_name = "name_col")]
    pub name: String,
    #[retort(relationship(back_populates = "owner"), const_name = "pets_rel")]
    pub pets: Many<Pet>,
}

impl Person {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pets(&self) -> Result<usize> {
        self.pets.get().map(|pets| pets.len())
    }
}

/// `const_suffix` renames every constant of the model at once.
#[derive(Model, Debug, Default)]
#[retort(table = "pets", const_suffix = "_col")]
pub struct Pet {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 20)]
    pub r#type: String,
    #[retort(foreign_key = "people.id")]
    pub owner_id: Option<i64>,
    #[retort(relationship(back_populates = "pets"))]
    pub owner: One<Person>,
}

impl Pet {
    pub fn id(&self) -> Option<i64> {
        self.id
    }

    pub fn owner_id(&self) -> Option<i64> {
        self.owner_id
    }
}

#[test]
fn renamed_constants_build_queries_beside_the_models_own_methods() {
    assert_eq!(Person::name_col.name(), "name");
    assert_eq!(Pet::type_col.name(), "type");
    for_each_backend(|db| {
        create_tables(
            db,
            &[Registry::register::<Person>, Registry::register::<Pet>],
        );
        let session = Session::new(db.engine());
        for (name, pet) in [("Ann", "dog"), ("Bob", "cat")] {
            let person = session.add(Person {
                name: name.into(),
                ..Default::default()
            });
            person
                .read()
                .unwrap()
                .pets
                .push_new(Pet {
                    r#type: pet.into(),
                    ..Default::default()
                })
                .unwrap();
        }
        session.commit().unwrap();

        let session = Session::new(db.engine());
        let capture = Capture::install(db.engine());
        let people = session
            .query::<Person>()
            .filter(Person::name_col.eq("Ann"))
            .options(selectinload(Person::pets_rel))
            .all()
            .unwrap();
        assert_eq!(people.len(), 1);
        let ann = people[0].read().unwrap();
        assert_eq!(ann.name(), "Ann");
        assert_eq!(ann.pets().unwrap(), 1);
        assert_eq!(capture.count("SELECT"), 2, "the person, then her pets");

        let dogs = session
            .query::<Pet>()
            .filter(Pet::type_col.eq("dog"))
            .filter(Pet::owner_id_col.eq(ann.id.unwrap()))
            .order_by(Pet::id_col)
            .all()
            .unwrap();
        assert_eq!(dogs.len(), 1);
        assert_eq!(dogs[0].read().unwrap().owner_id(), ann.id);
    });
}

/// Read from a table whose columns are looser than the model's: VARCHAR where the model has an
/// integer, a nullable column for a non-`Option` field, BIGINT for an `i32`.
#[derive(Model, Debug, Default)]
#[retort(table = "gauges")]
pub struct Gauge {
    #[retort(primary_key, autoincrement = false)]
    pub id: i64,
    pub label: String,
    pub reading: i64,
    pub level: i32,
}

/// Creates `gauges` by hand, with one row per way of not fitting the model (id 1 fits).
fn gauges_with_bad_rows(db: &TestDb) -> Checker {
    let checker = Checker::new(db);
    checker.exec(
        db,
        "CREATE TABLE gauges (id INTEGER PRIMARY KEY, label VARCHAR(20), reading VARCHAR(20), \
         level BIGINT)",
        &[],
    );
    for row in [
        "1, 'fits', '7', 3",
        "2, 'text', 'abc', 3",
        "3, NULL, '7', 3",
        "4, 'wide', '7', 1099511627776",
    ] {
        checker.exec(
            db,
            &format!("INSERT INTO gauges (id, label, reading, level) VALUES ({row})"),
            &[],
        );
    }
    checker
}

/// The message of a conversion error; any other error fails the test.
fn conversion_message(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Conversion(message)) => message,
        other => panic!("expected a conversion error, got {other:?}"),
    }
}

const BAD_ROWS: [(i64, &str); 3] = [
    (2, "Gauge.reading: cannot convert text value 'abc' to i64"),
    (
        3,
        "Gauge.label: unexpected NULL for a non-optional String (use Option<String>)",
    ),
    (4, "Gauge.level: 1099511627776 is out of range for i32"),
];

#[test]
fn a_value_the_field_cannot_hold_names_the_model_and_field() {
    for_each_backend(|db| {
        gauges_with_bad_rows(db);
        let session = Session::new(db.engine());
        assert_eq!(
            session
                .get::<Gauge>(1)
                .unwrap()
                .unwrap()
                .read()
                .unwrap()
                .level,
            3
        );
        for (id, expected) in BAD_ROWS {
            let err = session.get::<Gauge>(id);
            assert_eq!(conversion_message(err), expected, "{}", db.name());
        }
        let all = session.query::<Gauge>().order_by(Gauge::id).all();
        assert_eq!(conversion_message(all), BAD_ROWS[0].1, "{}", db.name());
        let err = session.get::<Gauge>(2).map(drop).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("conversion error: {}", BAD_ROWS[0].1)
        );
    });
}

#[test]
fn a_refresh_that_reads_a_bad_value_names_the_model_and_field_and_changes_nothing() {
    for_each_backend(|db| {
        let checker = gauges_with_bad_rows(db);
        // Kept loaded across the commit, so that the object's values stay readable after
        // the failed refresh.
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let gauge = session.get::<Gauge>(1).unwrap().unwrap();
        // Ends the session's transaction, so that the next read sees the change below.
        session.commit().unwrap();
        checker.exec(
            db,
            "UPDATE gauges SET label = 'changed', level = 1099511627776 WHERE id = 1",
            &[],
        );
        assert_eq!(
            conversion_message(session.refresh(&gauge)),
            "Gauge.level: 1099511627776 is out of range for i32"
        );
        // All or nothing: the label, read before the bad level, is not half-applied.
        assert_eq!(gauge.read().unwrap().label, "fits");
    });
}

#[test]
fn a_row_whose_object_the_session_has_is_recognised_by_its_key_and_not_decoded_again() {
    for_each_backend(|db| {
        let checker = gauges_with_bad_rows(db);
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let gauge = session.get::<Gauge>(1).unwrap().unwrap();
        session.commit().unwrap();
        checker.exec(
            db,
            "UPDATE gauges SET label = 'changed', level = 1099511627776 WHERE id = 1",
            &[],
        );
        // The identity map has id 1, so its row is matched by key and the rest of it is not
        // read: neither the new label nor the level that would not fit.
        let again = session
            .query::<Gauge>()
            .filter(Gauge::id.eq(1))
            .all()
            .unwrap();
        assert_eq!(again.len(), 1);
        assert!(again[0].ptr_eq(&gauge));
        assert_eq!(gauge.read().unwrap().label, "fits");
        assert_eq!(gauge.read().unwrap().level, 3);
        // Once expired, the row is read in full, and the bad value is reported.
        session.expire(&gauge);
        assert_eq!(
            conversion_message(session.query::<Gauge>().filter(Gauge::id.eq(1)).all()),
            "Gauge.level: 1099511627776 is out of range for i32"
        );
    });
}
