use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(const_name = "NAME")]
    pub name: String,
}

impl User {
    pub const NAME: &'static str = "user";
}

fn main() {}
