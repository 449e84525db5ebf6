//! retort's own rows: the Core (engine, connection, expression language) and the ORM
//! (`#[derive(Model)]` structs and a `Session`).
//!
//! - Core: every statement is built with the expression language and compiled once when the
//!   implementation is opened; rows are read by position into [`data`]'s structs.
//! - ORM: each workload runs in a fresh `Session`, so lookups miss the identity map and loads
//!   build new session objects, as a request handler would see them.

use retort::core::sql::Compiled;
use retort::prelude::*;

use crate::config::{Backend, Target};
use crate::data::{Comment, NewUser, Post, User, UserTree, UserWithPost, BLACK};
use crate::workload::{runner, Runner, Workloads};
use crate::BenchResult;

/// Function id of retort's Core rows (engine, connection, expression language; no Session).
pub const CORE: &str = "retort_core";

/// Function id of retort's ORM rows (models, Session).
pub const ORM: &str = "retort_orm";

/// retort's implementations for `target`, in the order [`CORE`], [`ORM`].
pub fn implementations(target: &Target) -> BenchResult<Vec<Box<dyn Runner>>> {
    let engine = create_engine(engine_url(target).as_str())?;
    Ok(vec![
        runner(CORE, RetortCore::open(&engine)?),
        runner(ORM, RetortOrm::open(engine)),
    ])
}

fn engine_url(target: &Target) -> String {
    match target.backend {
        // `sqlite:///` + an absolute path gives the four-slash absolute form.
        Backend::Sqlite => format!("sqlite:///{}", target.url),
        Backend::Postgres | Backend::Mysql => target.url.clone(),
    }
}

fn tables() -> BenchResult<(MetaData, Table, Table, Table)> {
    let metadata = MetaData::new();
    let users = Table::new("users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::Text).not_null())
        .column(Column::new("hair_color", SqlType::Text))
        .build()?;
    let posts = Table::new("posts", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
        .column(Column::new("title", SqlType::Text).not_null())
        .column(Column::new("body", SqlType::Text))
        .build()?;
    let comments = Table::new("comments", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("post_id", SqlType::Integer).foreign_key("posts.id"))
        .column(Column::new("text", SqlType::Text).not_null())
        .build()?;
    Ok((metadata, users, posts, comments))
}

/// The Core: one connection, statements compiled once.
pub struct RetortCore {
    conn: Connection,
    users: Table,
    posts: Table,
    comments: Table,
    all_users: Compiled,
    user_by_id: Compiled,
    medium: Compiled,
}

impl RetortCore {
    fn open(engine: &Engine) -> BenchResult<Self> {
        let (_metadata, users, posts, comments) = tables()?;
        let mut conn = engine.connect()?;
        if engine.dialect().name() == "sqlite" {
            conn.exec_driver_sql(crate::config::SQLITE_CONNECTION_PRAGMAS, &[])?;
        }
        let dialect = engine.dialect();
        let user_cols = (users.c("id"), users.c("name"), users.c("hair_color"));
        let all_users = select(user_cols.clone()).compile(dialect)?;
        let user_by_id = select(user_cols)
            .where_(users.c("id").eq(0))
            .compile(dialect)?;
        let medium = select((
            users.c("id"),
            users.c("name"),
            users.c("hair_color"),
            posts.c("id"),
            posts.c("user_id"),
            posts.c("title"),
            posts.c("body"),
        ))
        .select_from(&users)
        .outerjoin(&posts, posts.c("user_id").eq(users.c("id")))
        .where_(users.c("hair_color").eq(BLACK))
        .compile(dialect)?;
        Ok(RetortCore {
            conn,
            users,
            posts,
            comments,
            all_users,
            user_by_id,
            medium,
        })
    }
}

fn user_of(values: &mut std::vec::IntoIter<Value>) -> retort::Result<User> {
    Ok(User {
        id: i32::from_value(values.next().unwrap_or(Value::Null))?,
        name: String::from_value(values.next().unwrap_or(Value::Null))?,
        hair_color: Option::<String>::from_value(values.next().unwrap_or(Value::Null))?,
    })
}

fn post_of(values: &mut std::vec::IntoIter<Value>) -> retort::Result<Option<Post>> {
    let Some(id) = Option::<i32>::from_value(values.next().unwrap_or(Value::Null))? else {
        return Ok(None);
    };
    Ok(Some(Post {
        id,
        user_id: i32::from_value(values.next().unwrap_or(Value::Null))?,
        title: String::from_value(values.next().unwrap_or(Value::Null))?,
        body: Option::<String>::from_value(values.next().unwrap_or(Value::Null))?,
    }))
}

impl Workloads for RetortCore {
    type User = User;
    type Post = Post;
    type Comment = Comment;

    fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
        let result = self.conn.exec_driver_sql(&self.all_users.sql, &[])?;
        let users = result
            .into_iter()
            .map(|row| user_of(&mut row.into_values().into_iter()))
            .collect::<retort::Result<_>>()?;
        Ok(users)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
        let mut users = Vec::with_capacity(ids.len());
        for &id in ids {
            let row = self
                .conn
                .exec_driver_sql(&self.user_by_id.sql, &[Value::Int(i64::from(id))])?
                .one()?;
            users.push(user_of(&mut row.into_values().into_iter())?);
        }
        Ok(users)
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let stmt = insert(&self.users).values_many(
            ["name", "hair_color"],
            users
                .iter()
                .map(|u| (u.name.as_str(), u.hair_color.clone()))
                .collect::<Vec<_>>(),
        );
        self.conn.transaction(|tx| tx.execute(&stmt).map(|_| ()))?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<UserWithPost>> {
        let params = [Value::from(BLACK)];
        let result = self.conn.exec_driver_sql(&self.medium.sql, &params)?;
        let rows = result
            .into_iter()
            .map(|row| {
                let mut values = row.into_values().into_iter();
                Ok((user_of(&mut values)?, post_of(&mut values)?))
            })
            .collect::<retort::Result<_>>()?;
        Ok(rows)
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<UserTree>> {
        let users = self.trivial_query()?;
        let posts: Vec<Post> = self
            .conn
            .execute(
                &select((
                    self.posts.c("id"),
                    self.posts.c("user_id"),
                    self.posts.c("title"),
                    self.posts.c("body"),
                ))
                .where_(self.posts.c("user_id").in_(users.iter().map(|u| u.id))),
            )?
            .into_iter()
            .map(|row| post_of(&mut row.into_values().into_iter()))
            .filter_map(Result::transpose)
            .collect::<retort::Result<_>>()?;
        let comments: Vec<Comment> = self
            .conn
            .execute(
                &select((
                    self.comments.c("id"),
                    self.comments.c("post_id"),
                    self.comments.c("text"),
                ))
                .where_(self.comments.c("post_id").in_(posts.iter().map(|p| p.id))),
            )?
            .tuples::<(i32, i32, String)>()?
            .into_iter()
            .map(|(id, post_id, text)| Comment { id, post_id, text })
            .collect();
        // The same grouping the raw driver's rows use.
        Ok(crate::raw::nest(users, posts, comments))
    }
}

/// `users` as an ORM model.
#[derive(Model, Debug, Default)]
#[retort(table = "users")]
pub struct OrmUser {
    /// Primary key; `None` until the INSERT.
    #[retort(primary_key)]
    pub id: Option<i32>,
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// `posts` as an ORM model.
#[derive(Model, Debug, Default)]
#[retort(table = "posts")]
pub struct OrmPost {
    /// Primary key.
    #[retort(primary_key)]
    pub id: Option<i32>,
    /// The author.
    #[retort(foreign_key = "users.id")]
    pub user_id: i32,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
}

/// `comments` as an ORM model.
#[derive(Model, Debug, Default)]
#[retort(table = "comments")]
pub struct OrmComment {
    /// Primary key.
    #[retort(primary_key)]
    pub id: Option<i32>,
    /// The post.
    #[retort(foreign_key = "posts.id")]
    pub post_id: i32,
    /// Text.
    pub text: String,
}

fn read<M: Model>(obj: &Obj<M>) -> retort::orm::ReadGuard<'_, M> {
    match obj.read() {
        Ok(guard) => guard,
        Err(e) => panic!("a loaded object cannot be read: {e}"),
    }
}

impl From<Obj<OrmUser>> for User {
    fn from(obj: Obj<OrmUser>) -> User {
        let u = read(&obj);
        User {
            id: u.id.unwrap_or_default(),
            name: u.name.clone(),
            hair_color: u.hair_color.clone(),
        }
    }
}

impl From<Obj<OrmPost>> for Post {
    fn from(obj: Obj<OrmPost>) -> Post {
        let p = read(&obj);
        Post {
            id: p.id.unwrap_or_default(),
            user_id: p.user_id,
            title: p.title.clone(),
            body: p.body.clone(),
        }
    }
}

impl From<Obj<OrmComment>> for Comment {
    fn from(obj: Obj<OrmComment>) -> Comment {
        let c = read(&obj);
        Comment {
            id: c.id.unwrap_or_default(),
            post_id: c.post_id,
            text: c.text.clone(),
        }
    }
}

/// The ORM: a fresh Session per workload run.
pub struct RetortOrm {
    factory: SessionMaker,
}

impl RetortOrm {
    fn open(engine: Engine) -> Self {
        RetortOrm {
            factory: sessionmaker(&engine),
        }
    }
}

/// A post with its comments, as session objects.
type OrmPostTree = (Obj<OrmPost>, Vec<Obj<OrmComment>>);

/// A user with its posts and their comments, as session objects.
type OrmTree = (Obj<OrmUser>, Vec<OrmPostTree>);

impl Workloads for RetortOrm {
    type User = Obj<OrmUser>;
    type Post = Obj<OrmPost>;
    type Comment = Obj<OrmComment>;

    fn trivial_query(&mut self) -> BenchResult<Vec<Obj<OrmUser>>> {
        let session = self.factory.session();
        Ok(session.query::<OrmUser>().all()?)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<Obj<OrmUser>>> {
        let session = self.factory.session();
        let mut users = Vec::with_capacity(ids.len());
        for &id in ids {
            match session.get::<OrmUser>(id)? {
                Some(user) => users.push(user),
                None => return Err(format!("user {id} not found").into()),
            }
        }
        Ok(users)
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let session = self.factory.session();
        session.add_all(users.iter().map(|u| OrmUser {
            id: None,
            name: u.name.clone(),
            hair_color: u.hair_color.clone(),
        }));
        session.commit()?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<(Obj<OrmUser>, Option<Obj<OrmPost>>)>> {
        // No multi-entity query yet: load the black-haired users, then their posts, and pair
        // them as the LEFT JOIN would.
        let session = self.factory.session();
        let users = session
            .query::<OrmUser>()
            .filter(OrmUser::hair_color.eq(BLACK))
            .all()?;
        let ids: Vec<i32> = users.iter().filter_map(|u| read(u).id).collect();
        let posts = session
            .query::<OrmPost>()
            .filter(OrmPost::user_id.in_(ids))
            .all()?;
        let mut by_user: std::collections::HashMap<i32, Vec<Obj<OrmPost>>> =
            std::collections::HashMap::new();
        for post in posts {
            let user_id = read(&post).user_id;
            by_user.entry(user_id).or_default().push(post);
        }
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            let id = read(&user).id.unwrap_or_default();
            match by_user.remove(&id) {
                Some(posts) => rows.extend(posts.into_iter().map(|p| (user.clone(), Some(p)))),
                None => rows.push((user, None)),
            }
        }
        Ok(rows)
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<OrmTree>> {
        let session = self.factory.session();
        let users = session.query::<OrmUser>().all()?;
        let user_ids: Vec<i32> = users.iter().filter_map(|u| read(u).id).collect();
        let posts = session
            .query::<OrmPost>()
            .filter(OrmPost::user_id.in_(user_ids))
            .all()?;
        let post_ids: Vec<i32> = posts.iter().filter_map(|p| read(p).id).collect();
        let comments = session
            .query::<OrmComment>()
            .filter(OrmComment::post_id.in_(post_ids))
            .all()?;
        let mut comments_by_post: std::collections::HashMap<i32, Vec<Obj<OrmComment>>> =
            std::collections::HashMap::new();
        for comment in comments {
            let post_id = read(&comment).post_id;
            comments_by_post.entry(post_id).or_default().push(comment);
        }
        let mut posts_by_user: std::collections::HashMap<i32, Vec<OrmPostTree>> =
            std::collections::HashMap::new();
        for post in posts {
            let (id, user_id) = {
                let p = read(&post);
                (p.id.unwrap_or_default(), p.user_id)
            };
            let comments = comments_by_post.remove(&id).unwrap_or_default();
            posts_by_user
                .entry(user_id)
                .or_default()
                .push((post, comments));
        }
        Ok(users
            .into_iter()
            .map(|u| {
                let id = read(&u).id.unwrap_or_default();
                let posts = posts_by_user.remove(&id).unwrap_or_default();
                (u, posts)
            })
            .collect())
    }
}
