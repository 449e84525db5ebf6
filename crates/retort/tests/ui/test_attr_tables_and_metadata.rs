use retort::core::schema::MetaData;
use retort::testing::TestDatabase;

fn orders() -> retort::Result<MetaData> {
    Ok(MetaData::new())
}

#[retort::test(sqlite, tables = false, metadata = orders)]
fn saves_an_order(db: TestDatabase) {
    let _ = db;
}

fn main() {}
