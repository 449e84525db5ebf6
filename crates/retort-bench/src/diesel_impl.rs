//! Diesel 2.x, written as its guide writes it: `table!` schema, derived `Queryable` /
//! `Selectable` / `Associations` structs, `belonging_to` + `grouped_by` for the nested load, and
//! one batch `insert_into(..).values(&vec)` in a transaction. Diesel caches prepared statements
//! per connection by itself.

use diesel::connection::{DefaultLoadingMode, SimpleConnection};
use diesel::prelude::*;

use crate::config::{Backend, Target};
use crate::data::{self, NewUser as SharedNewUser, BLACK};
use crate::workload::{runner, Runner, Workloads};
use crate::BenchResult;

/// Function id of the Diesel rows.
pub const NAME: &str = "diesel";

/// The `table!` schema, as `diesel print-schema` would write it.
pub mod schema {
    diesel::table! {
        /// `users`
        users (id) {
            /// Primary key.
            id -> Integer,
            /// Not null.
            name -> Text,
            /// Nullable.
            hair_color -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// `posts`
        posts (id) {
            /// Primary key.
            id -> Integer,
            /// References `users.id`.
            user_id -> Integer,
            /// Not null.
            title -> Text,
            /// Nullable.
            body -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// `comments`
        comments (id) {
            /// Primary key.
            id -> Integer,
            /// References `posts.id`.
            post_id -> Integer,
            /// Not null.
            text -> Text,
        }
    }

    diesel::joinable!(posts -> users (user_id));
    diesel::joinable!(comments -> posts (post_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use schema::{comments, posts, users};

/// Diesel's `users` row.
#[derive(Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    /// Primary key.
    pub id: i32,
    /// Not null.
    pub name: String,
    /// Nullable.
    pub hair_color: Option<String>,
}

/// Diesel's `posts` row.
#[derive(Debug, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = posts, belongs_to(User))]
pub struct Post {
    /// Primary key.
    pub id: i32,
    /// References `users.id`.
    pub user_id: i32,
    /// Not null.
    pub title: String,
    /// Nullable.
    pub body: Option<String>,
}

/// Diesel's `comments` row.
#[derive(Debug, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = comments, belongs_to(Post))]
pub struct Comment {
    /// Primary key.
    pub id: i32,
    /// References `posts.id`.
    pub post_id: i32,
    /// Not null.
    pub text: String,
}

/// A user to insert, borrowing the caller's strings.
#[derive(Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewUser<'a> {
    /// Not null.
    pub name: &'a str,
    /// Nullable: `None` inserts NULL.
    pub hair_color: Option<&'a str>,
}

impl From<User> for data::User {
    fn from(u: User) -> Self {
        data::User {
            id: u.id,
            name: u.name,
            hair_color: u.hair_color,
        }
    }
}

impl From<Post> for data::Post {
    fn from(p: Post) -> Self {
        data::Post {
            id: p.id,
            user_id: p.user_id,
            title: p.title,
            body: p.body,
        }
    }
}

impl From<Comment> for data::Comment {
    fn from(c: Comment) -> Self {
        data::Comment {
            id: c.id,
            post_id: c.post_id,
            text: c.text,
        }
    }
}

/// Opens a Diesel connection of the backend's type.
pub fn connect(target: &Target) -> BenchResult<Box<dyn Runner>> {
    Ok(match target.backend {
        Backend::Sqlite | Backend::SqliteMemory => {
            // Diesel opens with SQLITE_OPEN_URI, which the in-memory target's `file:` name needs.
            let mut conn = SqliteConnection::establish(&target.url)?;
            if let Some(pragmas) = target.backend.sqlite_pragmas() {
                conn.batch_execute(pragmas)?;
            }
            runner(NAME, DieselSqlite(conn))
        }
        Backend::Postgres => runner(NAME, DieselPostgres(PgConnection::establish(&target.url)?)),
        // libmysqlclient / MariaDB Connector/C use TCP for any host but `localhost`, and
        // Connector/C 3.3 uses TLS only when asked to.
        Backend::Mysql => runner(NAME, DieselMysql(MysqlConnection::establish(&target.url)?)),
    })
}

/// Diesel on SQLite.
pub struct DieselSqlite(SqliteConnection);
/// Diesel on PostgreSQL.
pub struct DieselPostgres(PgConnection);
/// Diesel on MariaDB / MySQL.
pub struct DieselMysql(MysqlConnection);

// The same source for the three connection types: Diesel's queries are typed by backend, so
// each gets its own monomorphic code, as it would in a program using one database.
macro_rules! diesel_workloads {
    ($name:ident) => {
        impl Workloads for $name {
            type User = User;
            type Post = Post;
            type Comment = Comment;

            fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
                Ok(users::table.select(User::as_select()).load(&mut self.0)?)
            }

            const STREAMS: bool = true;

            fn stream_users(&mut self, visit: &mut dyn FnMut(User)) -> BenchResult<usize> {
                let mut read = 0;
                for user in users::table
                    .select(User::as_select())
                    .load_iter::<User, DefaultLoadingMode>(&mut self.0)?
                {
                    visit(user?);
                    read += 1;
                }
                Ok(read)
            }

            fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
                let mut found = Vec::with_capacity(ids.len());
                for &id in ids {
                    found.push(
                        users::table
                            .find(id)
                            .select(User::as_select())
                            .first(&mut self.0)?,
                    );
                }
                Ok(found)
            }

            fn insert_users(&mut self, new_users: &[SharedNewUser]) -> BenchResult<()> {
                let rows: Vec<NewUser<'_>> = new_users
                    .iter()
                    .map(|u| NewUser {
                        name: &u.name,
                        hair_color: u.hair_color.as_deref(),
                    })
                    .collect();
                self.0.transaction(|conn| {
                    diesel::insert_into(users::table)
                        .values(&rows)
                        .execute(conn)
                })?;
                Ok(())
            }

            fn medium_complex_query(&mut self) -> BenchResult<Vec<(User, Option<Post>)>> {
                Ok(users::table
                    .left_join(posts::table)
                    .filter(users::hair_color.eq(BLACK))
                    .select((User::as_select(), Option::<Post>::as_select()))
                    .load(&mut self.0)?)
            }

            fn loading_associations(
                &mut self,
            ) -> BenchResult<Vec<(User, Vec<(Post, Vec<Comment>)>)>> {
                let all_users = users::table.select(User::as_select()).load(&mut self.0)?;
                let all_posts = Post::belonging_to(&all_users)
                    .select(Post::as_select())
                    .load(&mut self.0)?;
                let all_comments = Comment::belonging_to(&all_posts)
                    .select(Comment::as_select())
                    .load(&mut self.0)?;
                let comments_per_post = all_comments.grouped_by(&all_posts);
                let posts_per_user = all_posts
                    .into_iter()
                    .zip(comments_per_post)
                    .grouped_by(&all_users);
                Ok(all_users.into_iter().zip(posts_per_user).collect())
            }
        }
    };
}

diesel_workloads!(DieselSqlite);
diesel_workloads!(DieselPostgres);
diesel_workloads!(DieselMysql);
