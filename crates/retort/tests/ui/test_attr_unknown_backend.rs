use retort::testing::TestDatabase;

#[retort::test(sqlite, oracle)]
fn saves_an_order(db: TestDatabase) {
    let _ = db;
}

fn main() {}
