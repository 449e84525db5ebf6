// Each step of an option chain names a relationship of the model the previous step reached.
use retort::orm::{selectinload, Many, One};
use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "authors")]
pub struct Author {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(back_populates = "author"))]
    pub books: Many<Book>,
}

#[derive(Model, Default)]
#[retort(table = "books")]
pub struct Book {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "authors.id")]
    pub author_id: Option<i64>,
    #[retort(relationship(back_populates = "books"))]
    pub author: One<Author>,
}

fn main() {
    let engine = create_engine("sqlite://").unwrap();
    let session = Session::new(&engine);
    let _ = session
        .query::<Author>()
        .options(selectinload(Author::books).selectinload(Author::books))
        .all();
}
