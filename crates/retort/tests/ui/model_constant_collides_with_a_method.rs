use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub name: String,
}

impl User {
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn main() {}
