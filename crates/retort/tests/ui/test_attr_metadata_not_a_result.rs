use retort::core::schema::MetaData;
use retort::testing::TestDatabase;

// `metadata = ...` takes a `fn() -> retort::Result<MetaData>`, like `Base::metadata`.
fn orders() -> MetaData {
    MetaData::new()
}

#[retort::test(sqlite, metadata = orders)]
fn saves_an_order(db: TestDatabase) {
    let _ = db;
}

fn main() {}
