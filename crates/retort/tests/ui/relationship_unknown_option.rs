// A misspelled relationship option is a compile error naming it.
use retort::orm::Many;
use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "authors")]
pub struct Author {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(back_populate = "author"))]
    pub books: Many<Book>,
}

#[derive(Model, Default)]
#[retort(table = "books")]
pub struct Book {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

fn main() {}
