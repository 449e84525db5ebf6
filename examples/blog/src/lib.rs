//! A small blog: the models of an application whose schema `retort-migrate` manages. Its
//! migrations are in `migrations/`, its migrator binary in `src/bin/migrate.rs`.

use retort::prelude::*;

/// Someone who writes posts.
#[derive(Model, Debug, Default)]
#[retort(table = "users")]
pub struct User {
    /// The key, assigned by the database.
    #[retort(primary_key)]
    pub id: Option<i64>,
    /// The name shown on posts.
    #[retort(length = 50)]
    pub name: String,
    /// A unique e-mail address.
    #[retort(length = 120, unique)]
    pub email: Option<String>,
    /// The user's posts, oldest first.
    #[retort(relationship(back_populates = "author", order_by = "id"))]
    pub posts: Many<Post>,
}

/// A post, written by one user.
#[derive(Model, Debug, Default)]
#[retort(table = "posts")]
pub struct Post {
    /// The key, assigned by the database.
    #[retort(primary_key)]
    pub id: Option<i64>,
    /// The author; deleting a user deletes their posts.
    #[retort(foreign_key = "users.id", on_delete = "cascade", index)]
    pub user_id: Option<i64>,
    /// The title.
    #[retort(length = 200)]
    pub title: String,
    /// The text.
    pub body: Option<String>,
    /// The author.
    #[retort(relationship(back_populates = "posts"))]
    pub author: One<User>,
}

/// The metadata of every model above: what the migrations bring the database to.
pub fn metadata() -> Result<MetaData> {
    Base::metadata()
}
