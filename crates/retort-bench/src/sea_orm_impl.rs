//! SeaORM 1.x over sqlx, written as its guide writes it: derived entities, `find().all()`,
//! `find_by_id`, `find_also_related` for the join, `load_many` for the nested load and
//! `insert_many` in a transaction.
//!
//! SeaORM is async; the bench owns a current-thread tokio runtime and runs each whole workload
//! in one `block_on`, as a sync program embedding it would. The pool holds exactly one
//! connection, kept open for the run, so its statement cache stays warm like every other
//! implementation's, and does not ping it on every checkout.

use std::time::Duration;

use futures_util::TryStreamExt;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ActiveValue::Set, ConnectOptions, Database, DatabaseConnection, LoaderTrait, QueryFilter,
    TransactionTrait,
};

use crate::config::{with_query, Backend, Target};
use crate::data::{self, NewUser, BLACK};
use crate::workload::{runner, Runner, Workloads};
use crate::BenchResult;

/// Function id of the SeaORM rows.
pub const NAME: &str = "sea_orm";

/// The `users` entity.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// SeaORM's `users` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Not null.
        pub name: String,
        /// Nullable.
        pub hair_color: Option<String>,
    }

    /// Relations of `users`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// A user has many posts.
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `posts` entity.
pub mod post {
    use sea_orm::entity::prelude::*;

    /// SeaORM's `posts` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// References `users.id`.
        pub user_id: i32,
        /// Not null.
        pub title: String,
        /// Nullable.
        pub body: Option<String>,
    }

    /// Relations of `posts`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// A post belongs to a user.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
        /// A post has many comments.
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `comments` entity.
pub mod comment {
    use sea_orm::entity::prelude::*;

    /// SeaORM's `comments` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// References `posts.id`.
        pub post_id: i32,
        /// Not null.
        pub text: String,
    }

    /// Relations of `comments`.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// A comment belongs to a post.
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id"
        )]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

impl From<user::Model> for data::User {
    fn from(u: user::Model) -> Self {
        data::User {
            id: u.id,
            name: u.name,
            hair_color: u.hair_color,
        }
    }
}

impl From<post::Model> for data::Post {
    fn from(p: post::Model) -> Self {
        data::Post {
            id: p.id,
            user_id: p.user_id,
            title: p.title,
            body: p.body,
        }
    }
}

impl From<comment::Model> for data::Comment {
    fn from(c: comment::Model) -> Self {
        data::Comment {
            id: c.id,
            post_id: c.post_id,
            text: c.text,
        }
    }
}

/// SeaORM with its own tokio runtime.
pub struct SeaOrm {
    runtime: tokio::runtime::Runtime,
    db: DatabaseConnection,
}

/// Connects SeaORM to `target` with a one-connection pool.
pub fn connect(target: &Target) -> BenchResult<Box<dyn Runner>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = match target.backend {
        Backend::Sqlite => format!("sqlite://{}", target.url),
        // sqlx takes the VFS as an option and builds the `file:` URI itself.
        Backend::SqliteMemory => format!("sqlite://{}?vfs=memdb", memdb_path(&target.url)?),
        // The PostgreSQL URL carries `sslmode=disable` already.
        Backend::Postgres => target.url.clone(),
        // sqlx prefers TLS when the server offers it; every other client goes without.
        Backend::Mysql => with_query(&target.url, "ssl-mode=disabled"),
    };
    let memory = target.backend == Backend::SqliteMemory;
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .min_connections(1)
        // A run lasts longer than sqlx's default idle timeout and connection lifetime.
        .idle_timeout(Duration::from_secs(24 * 3600))
        .max_lifetime(Duration::from_secs(24 * 3600))
        // sqlx pings every connection it hands out by default; retort's and SQLAlchemy's pools
        // do not, so the ping would measure the pool setting rather than the ORM.
        .test_before_acquire(false)
        .sqlx_logging(false)
        // The same settings as `config::SQLITE_CONNECTION_PRAGMAS`, through sqlx's options so
        // they hold for every connection the pool opens.
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true);
            if memory {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Memory)
            } else {
                o
            }
        });
    let db = runtime.block_on(Database::connect(options))?;
    Ok(runner(NAME, SeaOrm { runtime, db }))
}

/// The path inside the `memdb` VFS of a `file:/name?vfs=memdb` URI.
fn memdb_path(uri: &str) -> BenchResult<&str> {
    uri.strip_prefix("file:")
        .and_then(|rest| rest.split_once('?'))
        .map(|(path, _)| path)
        .ok_or_else(|| format!("`{uri}` is not a file:/name?vfs=memdb URI").into())
}

impl Workloads for SeaOrm {
    type User = user::Model;
    type Post = post::Model;
    type Comment = comment::Model;

    fn trivial_query(&mut self) -> BenchResult<Vec<user::Model>> {
        let db = &self.db;
        Ok(self
            .runtime
            .block_on(async { user::Entity::find().all(db).await })?)
    }

    const STREAMS: bool = true;

    fn stream_users(&mut self, visit: &mut dyn FnMut(user::Model)) -> BenchResult<usize> {
        let db = &self.db;
        self.runtime.block_on(async {
            let mut users = user::Entity::find().stream(db).await?;
            let mut read = 0;
            while let Some(user) = users.try_next().await? {
                visit(user);
                read += 1;
            }
            Ok(read)
        })
    }

    fn query_by_id(&mut self, ids: &[i32]) -> BenchResult<Vec<user::Model>> {
        let db = &self.db;
        self.runtime.block_on(async {
            let mut found = Vec::with_capacity(ids.len());
            for &id in ids {
                let user = user::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .ok_or_else(|| format!("no user {id}"))?;
                found.push(user);
            }
            Ok(found)
        })
    }

    fn insert_users(&mut self, users: &[NewUser]) -> BenchResult<()> {
        let db = &self.db;
        self.runtime.block_on(async {
            let rows = users.iter().map(|u| user::ActiveModel {
                name: Set(u.name.clone()),
                hair_color: Set(u.hair_color.clone()),
                ..Default::default()
            });
            let txn = db.begin().await?;
            user::Entity::insert_many(rows).exec(&txn).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn medium_complex_query(&mut self) -> BenchResult<Vec<(user::Model, Option<post::Model>)>> {
        let db = &self.db;
        Ok(self.runtime.block_on(async {
            user::Entity::find()
                .find_also_related(post::Entity)
                .filter(user::Column::HairColor.eq(BLACK))
                .all(db)
                .await
        })?)
    }

    fn loading_associations(
        &mut self,
    ) -> BenchResult<Vec<(user::Model, Vec<(post::Model, Vec<comment::Model>)>)>> {
        let db = &self.db;
        Ok(self.runtime.block_on(async {
            let users = user::Entity::find().all(db).await?;
            let posts_per_user = users.load_many(post::Entity, db).await?;
            // `load_many` takes one flat list of parents; remember each user's share of it.
            let sizes: Vec<usize> = posts_per_user.iter().map(Vec::len).collect();
            let posts: Vec<post::Model> = posts_per_user.into_iter().flatten().collect();
            let comments_per_post = posts.load_many(comment::Entity, db).await?;
            let mut pairs = posts.into_iter().zip(comments_per_post);
            let trees = users
                .into_iter()
                .zip(sizes)
                .map(|(user, size)| (user, pairs.by_ref().take(size).collect()))
                .collect();
            Ok::<_, DbErr>(trees)
        })?)
    }
}
