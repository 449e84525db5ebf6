use retort::orm::{Many, One};
use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(back_populates = "user"))]
    pub addresses: Many<Address>,
}

#[derive(Model, Default)]
#[retort(table = "addresses")]
pub struct Address {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "users.id")]
    pub user_id: Option<i64>,
    #[retort(relationship(back_populates = "addresses"))]
    pub user: One<User>,
}

fn main() {
    let engine = create_engine("sqlite://").unwrap();
    let session = Session::new(&engine);
    // Address::user starts from Address, not from the query's User.
    let _ = session.query::<User>().join(Address::user);
}
