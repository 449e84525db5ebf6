use retort::testing::TestDatabase;

#[retort::test(sqlite)]
fn counts_orders(db: TestDatabase) -> i64 {
    let _ = db;
    3
}

fn main() {}
