use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "logs")]
pub struct LogLine {
    pub id: Option<i64>,
    pub message: Option<String>,
}

fn main() {}
