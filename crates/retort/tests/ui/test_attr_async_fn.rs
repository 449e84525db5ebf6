use retort::testing::TestDatabase;

#[retort::test(sqlite)]
async fn saves_an_order(db: TestDatabase) {
    let _ = db;
}

fn main() {}
