//! retort's own rows: the Core (engine, connection, expression language) and the ORM
//! (`#[derive(Model)]` structs and a `Session`).
//!
//! - Core: every statement is built with the expression language where it runs (the engine's
//!   statement cache compiles each shape once), except the lookups, built once with a
//!   `bindparam` and prepared before their loop; rows are read by position into [`data`]'s
//!   structs with `query_map`.
//! - ORM: each workload runs in a fresh `Session`, so lookups miss the identity map and loads
//!   build new session objects, as a request handler would see them. The workloads that load
//!   related rows query users with a loader option and walk the relationship fields; they run
//!   twice, with `selectinload` under [`ORM`] and with `joinedload` under [`ORM_JOINED`].
//!
//! [`data`]: crate::data

use retort::core::sql::Expr;
use retort::orm::{joinedload, selectinload, Many, One};
use retort::prelude::*;

use crate::config::{Backend, Target};
use crate::data::{Comment, NewUser, Post, User, UserTree, UserWithPost, BLACK};
use crate::workload::{runner, runner_for, Case, Runner, Workloads, RELATIONSHIP_WORKLOADS};
use crate::BenchResult;

/// Function id of retort's Core rows (engine, connection, expression language; no Session).
pub const CORE: &str = "retort_core";

/// Function id of retort's ORM rows (models, Session); relationships load with `selectinload`.
pub const ORM: &str = "retort_orm";

/// The ORM's `yield_per` in `stream_query`: SQLAlchemy's documentation suggests 1 000.
const STREAM_BATCH: usize = 1000;

/// Function id of the ORM loading relationships with `joinedload`; it runs only the workloads
/// that load related rows (see [`Case::loads_relationships`]).
pub const ORM_JOINED: &str = "retort_orm_joined";

/// retort's function ids, in the order the summary prints them.
pub const NAMES: &[&str] = &[CORE, ORM, ORM_JOINED];

/// Whether retort's implementation `name` measures `workload` (a [`Case::name`]), so the
/// summary can tell a missing measurement from one never taken.
pub fn runs(name: &str, workload: &str) -> bool {
    match name {
        CORE | ORM => true,
        ORM_JOINED => RELATIONSHIP_WORKLOADS.contains(&workload),
        _ => false,
    }
}

/// retort's implementations for `target`, in the order of [`NAMES`].
pub fn implementations(target: &Target) -> BenchResult<Vec<Box<dyn Runner>>> {
    let core_engine = create_engine(engine_url(target).as_str())?;
    let orm_engine = orm_engine(target)?;
    Ok(vec![
        runner(CORE, RetortCore::open(&core_engine, target)?),
        runner(ORM, RetortOrm::open(&orm_engine, Eager::SelectIn)),
        runner_for(
            ORM_JOINED,
            RetortOrm::open(&orm_engine, Eager::Joined),
            Case::loads_relationships,
        ),
    ])
}

/// The ORMs' engine: a pool of one connection, opened here with the target's SQLite pragmas,
/// so every Session checks out that connection and works under the same settings as the
/// other implementations (retort has no per-connection hook to run them on).
fn orm_engine(target: &Target) -> BenchResult<Engine> {
    let engine = Engine::builder(engine_url(target).as_str())
        .pool_size(1)
        .build()?;
    // Opened now, so the transport check sees it too; it waits in the pool for the first
    // Session.
    let mut conn = engine.connect()?;
    if let Some(pragmas) = target.backend.sqlite_pragmas() {
        run_pragmas(&mut conn, pragmas)?;
        let synchronous: i64 = conn.exec_driver_sql("PRAGMA synchronous", &[])?.scalar()?;
        if synchronous != 1 {
            return Err("the ORM's connection did not take synchronous = NORMAL".into());
        }
    }
    drop(conn);
    Ok(engine)
}

/// Runs `pragmas` one statement at a time (the driver prepares one statement per call).
fn run_pragmas(conn: &mut Connection, pragmas: &str) -> BenchResult<()> {
    for pragma in pragmas.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        conn.exec_driver_sql(pragma, &[])?;
    }
    Ok(())
}

fn engine_url(target: &Target) -> String {
    match target.backend {
        // `sqlite:///` + an absolute path gives the four-slash absolute form.
        Backend::Sqlite => format!("sqlite:///{}", target.url),
        // The URI's `?` is escaped so that retort hands the whole name to SQLite; retort's own
        // WAL setting does not apply to memory (the pragmas then choose the memory journal).
        Backend::SqliteMemory => format!(
            "sqlite:///{}?journal_mode=delete",
            target.url.replace('?', "%3F").replace('=', "%3D")
        ),
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

/// The Core: one connection; each statement built with the expression language where it is
/// run, as the README writes it (the engine's statement cache compiles each shape once), the
/// lookups' once with a `bindparam`, and rows read by position straight from the driver with
/// `query_map`.
pub struct RetortCore {
    conn: Connection,
    users: Table,
    posts: Table,
    comments: Table,
}

impl RetortCore {
    fn open(engine: &Engine, target: &Target) -> BenchResult<Self> {
        let (_metadata, users, posts, comments) = tables()?;
        let mut conn = engine.connect()?;
        if let Some(pragmas) = target.backend.sqlite_pragmas() {
            run_pragmas(&mut conn, pragmas)?;
        }
        Ok(RetortCore {
            conn,
            users,
            posts,
            comments,
        })
    }

    fn user_columns(&self) -> (Expr, Expr, Expr) {
        (
            self.users.c("id"),
            self.users.c("name"),
            self.users.c("hair_color"),
        )
    }
}

/// A user from the row's columns `at..at + 3`.
fn user_at(row: &mut RowReader<'_>, at: usize) -> Result<User> {
    Ok(User {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        hair_color: row.get(at + 2)?,
    })
}

/// A post from the row's columns `at..at + 4`; `None` for an outer join's missing side.
fn post_at(row: &mut RowReader<'_>, at: usize) -> Result<Option<Post>> {
    let Some(id) = row.get::<Option<i32>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Post {
        id,
        user_id: row.get(at + 1)?,
        title: row.get(at + 2)?,
        body: row.get(at + 3)?,
    }))
}

impl Workloads for RetortCore {
    type User = User;
    type Post = Post;
    type Comment = Comment;

    fn trivial_query(&mut self) -> BenchResult<Vec<User>> {
        let stmt = select(self.user_columns());
        Ok(self.conn.query_map(&stmt, |row| user_at(row, 0))?)
    }

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(User)) -> BenchResult<usize> {
        let stmt = select(self.user_columns());
        let mut read = 0;
        for user in self.conn.stream(&stmt)?.map_rows(|row| user_at(row, 0)) {
            visit(user?);
            read += 1;
        }
        Ok(read)
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<User>> {
        // Built and compiled once, run with each id (SQLAlchemy's `bindparam`).
        let stmt = select(self.user_columns()).where_(self.users.c("id").eq(bindparam("id")));
        let lookup = self.conn.prepare(&stmt)?;
        let mut users = Vec::with_capacity(ids.len());
        for &id in ids {
            let mut found = self
                .conn
                .query_map_with(&lookup, &[("id", id.into())], |row| user_at(row, 0))?;
            match (found.pop(), found.is_empty()) {
                (Some(user), true) => users.push(user),
                _ => return Err(format!("expected exactly one user {id}").into()),
            }
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
        let (users, posts) = (&self.users, &self.posts);
        let stmt = select((
            users.c("id"),
            users.c("name"),
            users.c("hair_color"),
            posts.c("id"),
            posts.c("user_id"),
            posts.c("title"),
            posts.c("body"),
        ))
        .select_from(users)
        .outerjoin(posts, posts.c("user_id").eq(users.c("id")))
        .where_(users.c("hair_color").eq(BLACK));
        Ok(self
            .conn
            .query_map(&stmt, |row| Ok((user_at(row, 0)?, post_at(row, 3)?)))?)
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<UserTree>> {
        let users = self.trivial_query()?;
        let posts = select((
            self.posts.c("id"),
            self.posts.c("user_id"),
            self.posts.c("title"),
            self.posts.c("body"),
        ))
        .where_(self.posts.c("user_id").in_(users.iter().map(|u| u.id)));
        let posts: Vec<Post> = self
            .conn
            .query_map(&posts, |row| post_at(row, 0))?
            .into_iter()
            .flatten()
            .collect();
        let comments = select((
            self.comments.c("id"),
            self.comments.c("post_id"),
            self.comments.c("text"),
        ))
        .where_(self.comments.c("post_id").in_(posts.iter().map(|p| p.id)));
        let comments: Vec<Comment> = self
            .conn
            .tuples::<(i32, i32, String)>(&comments)?
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
    /// The user's posts.
    #[retort(relationship(back_populates = "user"))]
    pub posts: Many<OrmPost>,
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
    /// The author, as an object.
    #[retort(relationship(back_populates = "posts"))]
    pub user: One<OrmUser>,
    /// The post's comments.
    #[retort(relationship(back_populates = "post"))]
    pub comments: Many<OrmComment>,
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
    /// The post, as an object.
    #[retort(relationship(back_populates = "comments"))]
    pub post: One<OrmPost>,
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

/// How the ORM loads the relationships a workload walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eager {
    /// `selectinload`: one more SELECT per relationship, `WHERE key IN (...)`.
    SelectIn,
    /// `joinedload`: LEFT OUTER JOINs in the users' own SELECT.
    Joined,
}

/// The ORM: a fresh Session per workload run.
pub struct RetortOrm {
    factory: SessionMaker,
    eager: Eager,
}

impl RetortOrm {
    fn open(engine: &Engine, eager: Eager) -> Self {
        RetortOrm {
            factory: sessionmaker(engine),
            eager,
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

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(Obj<OrmUser>)) -> BenchResult<usize> {
        let session = self.factory.session();
        let mut read = 0;
        for user in session.stream(&OrmUser::select(), STREAM_BATCH)? {
            visit(user?);
            read += 1;
        }
        Ok(read)
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
            ..OrmUser::default()
        }));
        session.commit()?;
        Ok(())
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<(Obj<OrmUser>, Option<Obj<OrmPost>>)>> {
        let session = self.factory.session();
        let users = session
            .query::<OrmUser>()
            .filter(OrmUser::hair_color.eq(BLACK))
            .options(match self.eager {
                Eager::SelectIn => selectinload(OrmUser::posts),
                Eager::Joined => joinedload(OrmUser::posts),
            })
            .all()?;
        // One row per post, and a user without posts once with none, as the LEFT JOIN gives.
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            let posts = read(&user).posts.get()?;
            if posts.is_empty() {
                rows.push((user, None));
            } else {
                rows.extend(posts.into_iter().map(|post| (user.clone(), Some(post))));
            }
        }
        Ok(rows)
    }

    fn loading_associations(&mut self) -> BenchResult<Vec<OrmTree>> {
        let session = self.factory.session();
        let option = match self.eager {
            Eager::SelectIn => selectinload(OrmUser::posts).selectinload(OrmPost::comments),
            Eager::Joined => joinedload(OrmUser::posts).joinedload(OrmPost::comments),
        };
        let users = session.query::<OrmUser>().options(option).all()?;
        let mut trees = Vec::with_capacity(users.len());
        for user in users {
            let posts = read(&user).posts.get()?;
            let mut branches = Vec::with_capacity(posts.len());
            for post in posts {
                let comments = read(&post).comments.get()?;
                branches.push((post, comments));
            }
            trees.push((user, branches));
        }
        Ok(trees)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::admin::Admin;
    use crate::data::Fixture;

    /// Runs the ORM's check of `case` (the harness's comparison with the seeded data) on a
    /// fresh SQLite file and returns the SELECTs it sent.
    fn selects_of(eager: Eager, case: &Case) -> Vec<String> {
        let path = std::env::temp_dir().join(format!(
            "retort_bench_test_{}_{eager:?}_{}.sqlite3",
            case.name(),
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let mut admin = rusqlite::Connection::open(&path).expect("sqlite file opens");
        admin.create_schema().expect("schema");
        admin.load(&case.fixture()).expect("fixture loads");
        let engine = create_engine(format!("sqlite:///{}", path.display()).as_str())
            .expect("engine on the file");
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&sent);
        engine.on_execute(move |sql, _| log.lock().expect("log").push(sql.to_owned()));
        let mut orm = runner(ORM, RetortOrm::open(&engine, eager));
        let checked = orm.check(case, &mut admin);
        let _ = std::fs::remove_file(&path);
        if let Err(e) = checked {
            panic!("{eager:?} {}: {e}", case.name());
        }
        let sent = sent.lock().expect("log").clone();
        sent.into_iter()
            .filter(|sql| sql.starts_with("SELECT"))
            .collect()
    }

    #[test]
    fn relationship_workloads_load_eagerly_with_one_select_per_level_or_one_join() {
        let medium = Case::MediumComplexQuery(Fixture::users_with_posts(30));
        let nested = Case::LoadingAssociations(Fixture::users_posts_comments(4, 3, 2));

        let selectin = selects_of(Eager::SelectIn, &medium);
        assert_eq!(selectin.len(), 2, "{selectin:#?}");
        assert!(selectin[1].contains(" IN ("), "{}", selectin[1]);
        let selectin = selects_of(Eager::SelectIn, &nested);
        assert_eq!(selectin.len(), 3, "{selectin:#?}");
        assert!(selectin[1..].iter().all(|s| s.contains(" IN (")));

        for case in [&medium, &nested] {
            let joined = selects_of(Eager::Joined, case);
            assert_eq!(joined.len(), 1, "{joined:#?}");
            let joins = joined[0].matches("LEFT OUTER JOIN").count();
            let expected = if case.name() == "medium_complex_query" {
                1
            } else {
                2
            };
            assert_eq!(joins, expected, "{}", joined[0]);
        }
    }

    #[test]
    fn the_joined_variant_runs_only_the_relationship_workloads() {
        let ran: Vec<&str> = Case::all()
            .iter()
            .filter(|case| runs(ORM_JOINED, case.name()))
            .map(Case::name)
            .collect();
        assert_eq!(ran, ["medium_complex_query", "loading_associations"]);
        assert!(Case::all().iter().all(|case| runs(ORM, case.name())));
    }
}
