// A loader option must name a relationship of the queried model.
use retort::orm::{joinedload, Many, One};
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
    let _ = session.query::<Author>().options(joinedload(Book::author)).all();
}
