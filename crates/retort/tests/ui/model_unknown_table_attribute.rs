use retort::prelude::*;

#[derive(Model, Default)]
#[retort(tabel = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

fn main() {}
