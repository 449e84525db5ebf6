//! The floor: each backend's raw driver, written the way a careful hand would.
//!
//! Statements are prepared once per connection and reused (rusqlite's `prepare_cached`, the
//! `postgres` client's `Statement`s prepared at connect time, the `mysql` driver's statement
//! cache), and columns are read by position straight into [`data`]'s structs.
//!
//! Inserts use one prepared single-row INSERT per user on SQLite (no network round trip to
//! save) and one multi-row INSERT per batch on the servers.

use std::collections::HashMap;

use mysql::prelude::Queryable;
use postgres::fallible_iterator::FallibleIterator;

use crate::admin::open_sqlite;
use crate::config::{Backend, Target};
use crate::data::{Comment, NewUser, Post, User, UserTree, UserWithPost, BLACK};
use crate::workload::{runner, Runner, Workloads};
use crate::BenchResult;

/// Function id of the raw drivers.
pub const NAME: &str = crate::BASELINE;

const ALL_USERS: &str = "SELECT id, name, hair_color FROM users";
const USER_BY_ID: &str = "SELECT id, name, hair_color FROM users WHERE id = ?";
const INSERT_USER: &str = "INSERT INTO users (name, hair_color) VALUES (?, ?)";
const MEDIUM: &str = "SELECT u.id, u.name, u.hair_color, p.id, p.user_id, p.title, p.body \
     FROM users u LEFT JOIN posts p ON p.user_id = u.id WHERE u.hair_color = ?";
const POSTS_OF: &str = "SELECT id, user_id, title, body FROM posts WHERE user_id IN ";
const COMMENTS_OF: &str = "SELECT id, post_id, text FROM comments WHERE post_id IN ";

/// Opens the raw driver for `target`.
pub fn connect(target: &Target) -> BenchResult<Box<dyn Runner>> {
    Ok(match target.backend {
        Backend::Sqlite | Backend::SqliteMemory => runner(
            NAME,
            RawSqlite {
                conn: open_sqlite(target)?,
            },
        ),
        Backend::Postgres => runner(NAME, RawPostgres::connect(&target.url)?),
        Backend::Mysql => runner(
            NAME,
            RawMysql {
                conn: mysql::Conn::new(target.mysql_opts()?)?,
            },
        ),
    })
}

/// `(?, ?, ...)` with `n` markers.
fn in_list(n: usize) -> String {
    let mut sql = String::with_capacity(2 + 3 * n);
    sql.push('(');
    for i in 0..n {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
    sql.push(')');
    sql
}

/// Nests posts and comments under their users with one hash lookup per row.
pub(crate) fn nest(users: Vec<User>, posts: Vec<Post>, comments: Vec<Comment>) -> Vec<UserTree> {
    let post_index: HashMap<i32, usize> =
        posts.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let mut comments_by_post: Vec<Vec<Comment>> = vec![Vec::new(); posts.len()];
    for comment in comments {
        if let Some(&i) = post_index.get(&comment.post_id) {
            comments_by_post[i].push(comment);
        }
    }
    let user_index: HashMap<i32, usize> =
        users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let mut posts_by_user: Vec<Vec<(Post, Vec<Comment>)>> = vec![Vec::new(); users.len()];
    for (post, comments) in posts.into_iter().zip(comments_by_post) {
        if let Some(&i) = user_index.get(&post.user_id) {
            posts_by_user[i].push((post, comments));
        }
    }
    users.into_iter().zip(posts_by_user).collect()
}

/// rusqlite with `prepare_cached`.
pub struct RawSqlite {
    conn: rusqlite::Connection,
}

fn sqlite_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        hair_color: r.get(2)?,
    })
}

impl Workloads for RawSqlite {
    type User = User;
    type Post = Post;
    type Comment = Comment;

    fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
        let mut stmt = self.conn.prepare_cached(ALL_USERS)?;
        let users = stmt.query_map([], sqlite_user)?.collect::<Result<_, _>>()?;
        Ok(users)
    }

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(User)) -> BenchResult<usize> {
        let mut stmt = self.conn.prepare_cached(ALL_USERS)?;
        let mut read = 0;
        for user in stmt.query_map([], sqlite_user)? {
            visit(user?);
            read += 1;
        }
        Ok(read)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
        let mut stmt = self.conn.prepare_cached(USER_BY_ID)?;
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.push(stmt.query_row([id], sqlite_user)?);
        }
        Ok(users)
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(INSERT_USER)?;
            for user in users {
                stmt.execute((&user.name, &user.hair_color))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<UserWithPost>> {
        let mut stmt = self.conn.prepare_cached(MEDIUM)?;
        let rows = stmt
            .query_map([BLACK], |r| {
                let user = sqlite_user(r)?;
                let post = match r.get::<_, Option<i32>>(3)? {
                    Some(id) => Some(Post {
                        id,
                        user_id: r.get(4)?,
                        title: r.get(5)?,
                        body: r.get(6)?,
                    }),
                    None => None,
                };
                Ok((user, post))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<UserTree>> {
        let users: Vec<User> = self
            .conn
            .prepare_cached(ALL_USERS)?
            .query_map([], sqlite_user)?
            .collect::<Result<_, _>>()?;
        let user_ids = users.iter().map(|u| u.id);
        let posts: Vec<Post> = self
            .conn
            .prepare_cached(&format!("{POSTS_OF}{}", in_list(users.len())))?
            .query_map(rusqlite::params_from_iter(user_ids), |r| {
                Ok(Post {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    title: r.get(2)?,
                    body: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let post_ids = posts.iter().map(|p| p.id);
        let comments: Vec<Comment> = self
            .conn
            .prepare_cached(&format!("{COMMENTS_OF}{}", in_list(posts.len())))?
            .query_map(rusqlite::params_from_iter(post_ids), |r| {
                Ok(Comment {
                    id: r.get(0)?,
                    post_id: r.get(1)?,
                    text: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(nest(users, posts, comments))
    }
}

/// The sync `postgres` client with its statements prepared at connect time.
pub struct RawPostgres {
    client: postgres::Client,
    all_users: postgres::Statement,
    user_by_id: postgres::Statement,
    medium: postgres::Statement,
    posts_of: postgres::Statement,
    comments_of: postgres::Statement,
    /// Multi-row INSERTs by row count.
    inserts: HashMap<usize, postgres::Statement>,
}

impl RawPostgres {
    fn connect(url: &str) -> BenchResult<Self> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        Ok(RawPostgres {
            all_users: client.prepare(ALL_USERS)?,
            user_by_id: client.prepare(&USER_BY_ID.replace('?', "$1"))?,
            medium: client.prepare(&MEDIUM.replace('?', "$1"))?,
            // PostgreSQL takes the whole id list as one array parameter.
            posts_of: client
                .prepare("SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1)")?,
            comments_of: client
                .prepare("SELECT id, post_id, text FROM comments WHERE post_id = ANY($1)")?,
            inserts: HashMap::new(),
            client,
        })
    }
}

fn pg_user(r: &postgres::Row) -> User {
    User {
        id: r.get(0),
        name: r.get(1),
        hair_color: r.get(2),
    }
}

impl Workloads for RawPostgres {
    type User = User;
    type Post = Post;
    type Comment = Comment;

    fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
        let rows = self.client.query(&self.all_users, &[])?;
        Ok(rows.iter().map(pg_user).collect())
    }

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(User)) -> BenchResult<usize> {
        let no_params = std::iter::empty::<&(dyn postgres::types::ToSql + Sync)>();
        let mut rows = self.client.query_raw(&self.all_users, no_params)?;
        let mut read = 0;
        while let Some(row) = rows.next()? {
            visit(pg_user(&row));
            read += 1;
        }
        Ok(read)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.push(pg_user(&self.client.query_one(&self.user_by_id, &[id])?));
        }
        Ok(users)
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let stmt = match self.inserts.get(&users.len()) {
            Some(stmt) => stmt.clone(),
            None => {
                let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
                for i in 0..users.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
                }
                let stmt = self.client.prepare(&sql)?;
                self.inserts.insert(users.len(), stmt.clone());
                stmt
            }
        };
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            Vec::with_capacity(2 * users.len());
        for user in users {
            params.push(&user.name);
            params.push(&user.hair_color);
        }
        let mut tx = self.client.transaction()?;
        tx.execute(&stmt, &params)?;
        tx.commit()?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<UserWithPost>> {
        let rows = self.client.query(&self.medium, &[&BLACK])?;
        Ok(rows
            .iter()
            .map(|r| {
                let post = r.get::<_, Option<i32>>(3).map(|id| Post {
                    id,
                    user_id: r.get(4),
                    title: r.get(5),
                    body: r.get(6),
                });
                (pg_user(r), post)
            })
            .collect())
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<UserTree>> {
        let users: Vec<User> = self
            .client
            .query(&self.all_users, &[])?
            .iter()
            .map(pg_user)
            .collect();
        let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
        let posts: Vec<Post> = self
            .client
            .query(&self.posts_of, &[&user_ids])?
            .iter()
            .map(|r| Post {
                id: r.get(0),
                user_id: r.get(1),
                title: r.get(2),
                body: r.get(3),
            })
            .collect();
        let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
        let comments: Vec<Comment> = self
            .client
            .query(&self.comments_of, &[&post_ids])?
            .iter()
            .map(|r| Comment {
                id: r.get(0),
                post_id: r.get(1),
                text: r.get(2),
            })
            .collect();
        Ok(nest(users, posts, comments))
    }
}

/// The sync `mysql` driver; its per-connection statement cache keeps every statement prepared.
pub struct RawMysql {
    conn: mysql::Conn,
}

type MysqlUserRow = (i32, String, Option<String>);

fn mysql_user((id, name, hair_color): MysqlUserRow) -> User {
    User {
        id,
        name,
        hair_color,
    }
}

/// Runs a prepared statement and decodes every row by position (`exec_map` would panic on a
/// row that does not convert; this reports it).
fn mysql_rows<T: mysql::prelude::FromRow>(
    conn: &mut mysql::Conn,
    sql: &str,
    params: impl Into<mysql::Params>,
) -> BenchResult<Vec<T>> {
    let mut rows = Vec::new();
    for row in conn.exec_iter(sql, params)? {
        rows.push(mysql::from_row_opt::<T>(row?)?);
    }
    Ok(rows)
}

impl Workloads for RawMysql {
    type User = User;
    type Post = Post;
    type Comment = Comment;

    fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
        let rows: Vec<MysqlUserRow> = mysql_rows(&mut self.conn, ALL_USERS, ())?;
        Ok(rows.into_iter().map(mysql_user).collect())
    }

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(User)) -> BenchResult<usize> {
        let mut read = 0;
        for row in self.conn.exec_iter(ALL_USERS, ())? {
            visit(mysql_user(mysql::from_row_opt::<MysqlUserRow>(row?)?));
            read += 1;
        }
        Ok(read)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            let row = self
                .conn
                .exec_iter(USER_BY_ID, (id,))?
                .next()
                .ok_or_else(|| format!("no user {id}"))??;
            users.push(mysql_user(mysql::from_row_opt(row)?));
        }
        Ok(users)
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
        for i in 0..users.len() {
            sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
        }
        let mut params: Vec<mysql::Value> = Vec::with_capacity(2 * users.len());
        for user in users {
            params.push(user.name.as_str().into());
            params.push(user.hair_color.as_deref().into());
        }
        let mut tx = self.conn.start_transaction(mysql::TxOpts::default())?;
        tx.exec_drop(sql, params)?;
        tx.commit()?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<UserWithPost>> {
        type Joined = (
            i32,
            String,
            Option<String>,
            Option<i32>,
            Option<i32>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Joined> = mysql_rows(&mut self.conn, MEDIUM, (BLACK,))?;
        Ok(rows
            .into_iter()
            .map(|(id, name, hair_color, post_id, user_id, title, body)| {
                let post = match (post_id, user_id, title) {
                    (Some(id), Some(user_id), Some(title)) => Some(Post {
                        id,
                        user_id,
                        title,
                        body,
                    }),
                    _ => None,
                };
                (mysql_user((id, name, hair_color)), post)
            })
            .collect())
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<UserTree>> {
        let users: Vec<MysqlUserRow> = mysql_rows(&mut self.conn, ALL_USERS, ())?;
        let users: Vec<User> = users.into_iter().map(mysql_user).collect();
        let user_ids: Vec<mysql::Value> = users.iter().map(|u| u.id.into()).collect();
        let sql = format!("{POSTS_OF}{}", in_list(user_ids.len()));
        let posts: Vec<(i32, i32, String, Option<String>)> =
            mysql_rows(&mut self.conn, &sql, user_ids)?;
        let posts: Vec<Post> = posts
            .into_iter()
            .map(|(id, user_id, title, body)| Post {
                id,
                user_id,
                title,
                body,
            })
            .collect();
        let post_ids: Vec<mysql::Value> = posts.iter().map(|p| p.id.into()).collect();
        let sql = format!("{COMMENTS_OF}{}", in_list(post_ids.len()));
        let comments: Vec<(i32, i32, String)> = mysql_rows(&mut self.conn, &sql, post_ids)?;
        let comments = comments
            .into_iter()
            .map(|(id, post_id, text)| Comment { id, post_id, text })
            .collect();
        Ok(nest(users, posts, comments))
    }
}
