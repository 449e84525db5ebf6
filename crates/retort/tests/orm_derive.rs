//! What `#[derive(Model)]` generates, end to end.

use retort::orm::Model as _;
use retort::prelude::*;

/// No `table = ..`: the table is named after the struct, in snake_case.
#[derive(Model, Debug, Default)]
pub struct HTTPServer {
    #[retort(primary_key)]
    pub id: Option<i64>,
}

#[test]
fn the_default_table_name_is_the_structs_name_in_snake_case() {
    assert_eq!(HTTPServer::mapper().table_name(), "http_server");
}
