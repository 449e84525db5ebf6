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
    // After User::addresses the path is at Address: User::addresses cannot follow.
    let _ = User::addresses.then(User::addresses);
}
