use retort::testing::TestDatabase;

#[retort::test(sqlite)]
fn saves_an_order(db: TestDatabase, other: TestDatabase) {
    let _ = (db, other);
}

fn main() {}
