//! The models' diagram: `Base::metadata()?.to_mermaid()` for derived models, an association
//! table and a self-reference. A test binary of its own, so that `Base` holds these models only.

use retort::orm::{Many, One};
use retort::prelude::*;

retort::orm::association_table! {
    /// Links users and groups.
    pub static MEMBERSHIPS = "memberships" {
        user_id: i64 => "users.id",
        group_id: i64 => "groups.id",
    }
}

#[derive(Model, Debug, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub name: String,
    #[retort(unique)]
    pub email: Option<String>,
    #[retort(relationship(back_populates = "user"))]
    pub addresses: Many<Address>,
    #[retort(relationship(secondary = "memberships", back_populates = "members"))]
    pub groups: Many<Group>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "addresses")]
pub struct Address {
    #[retort(primary_key)]
    pub id: Option<i64>,
    pub street: Option<String>,
    #[retort(foreign_key = "users.id", on_delete = "cascade")]
    pub user_id: i64,
    #[retort(relationship(back_populates = "addresses"))]
    pub user: One<User>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "groups")]
pub struct Group {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(sql_type = numeric(10, 2))]
    pub fee: f64,
    #[retort(relationship(secondary = "memberships", back_populates = "groups"))]
    pub members: Many<User>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "employees")]
pub struct Employee {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "employees.id")]
    pub manager_id: Option<i64>,
    #[retort(relationship(back_populates = "reports"))]
    pub manager: One<Employee>,
    #[retort(relationship(back_populates = "manager"))]
    pub reports: Many<Employee>,
}

#[test]
fn base_metadata_draws_the_models() -> Result<()> {
    // Models in table-name order, then the association table.
    assert_eq!(
        Base::metadata()?.to_mermaid(),
        r#"erDiagram
    "addresses" {
        BIGINT id PK
        VARCHAR street
        BIGINT user_id FK "not null"
    }
    "employees" {
        BIGINT id PK
        BIGINT manager_id FK
    }
    "groups" {
        BIGINT id PK
        NUMERIC(10_2) fee "not null"
    }
    "users" {
        BIGINT id PK
        VARCHAR(50) name "not null"
        VARCHAR email UK
    }
    "memberships" {
        BIGINT user_id PK, FK
        BIGINT group_id PK, FK
    }
    "users" ||..o{ "addresses" : "user_id"
    "employees" |o..o{ "employees" : "manager_id"
    "users" ||--o{ "memberships" : "user_id"
    "groups" ||--o{ "memberships" : "group_id"
"#
    );
    Ok(())
}
