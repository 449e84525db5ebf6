#[retort::test(sqlite)]
#[test]
fn saves_an_order(db: retort::testing::TestDatabase) {
    let _ = db;
}

fn main() {}
