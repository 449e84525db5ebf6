use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub name: Option<String>,
    pub age: Option<i32>,
}

fn main() {
    // A text column against an integer column.
    let _ = User::name.eq(User::age);
}
