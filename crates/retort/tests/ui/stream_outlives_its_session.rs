// A stream has the session's connection until it ends: it cannot outlive the session.
use retort::prelude::*;

#[derive(Model, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

fn main() {
    let engine = create_engine("sqlite://").unwrap();
    let session = Session::new(&engine);
    let users = session.stream(&User::select(), 100).unwrap();
    drop(session);
    for _ in users {}
}
