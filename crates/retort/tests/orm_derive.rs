//! What `#[derive(Model)]` generates, end to end: the default table name, and column constants
//! renamed around a clash with the model's own methods, on SQLite, PostgreSQL and MariaDB.

mod common;

use common::{create_tables, Capture};
use retort::orm::Model as _;
use retort::prelude::*;
use retort_testkit::for_each_backend;

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
