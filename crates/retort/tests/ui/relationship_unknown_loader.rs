// A loader name the derive does not know is a compile error listing the known ones.
use retort::orm::Many;
use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "authors")]
pub struct Author {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(lazy = "eager"))]
    pub books: Many<Book>,
}

#[derive(Model, Default)]
#[retort(table = "books")]
pub struct Book {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

fn main() {}
