//! Schema, seeding and read-back through the raw drivers, on a connection of its own.
//!
//! Nothing here is timed: it prepares each workload's data and lets the checks look at what an
//! implementation inserted.

use crate::config::{self, Backend, Target};
use crate::data::{Fixture, User};
use crate::BenchResult;

/// Seeds, clears and reads back the bench tables of one target.
pub trait Admin {
    /// Creates `users`, `posts` and `comments` (with their foreign keys and indexes).
    fn create_schema(&mut self) -> BenchResult<()>;
    /// Replaces every row of the three tables with `fixture`'s, ids included.
    fn load(&mut self, fixture: &Fixture) -> BenchResult<()>;
    /// Deletes every user; the insert workload calls it before each timed batch, when
    /// `posts` and `comments` are empty.
    fn clear_users(&mut self) -> BenchResult<()>;
    /// Every user, ordered by id.
    fn users(&mut self) -> BenchResult<Vec<User>>;
    /// Fails unless every connection to the bench database (this one included) reaches the
    /// server over TCP without TLS, so no client is measured over a faster or slower transport
    /// than the others; returns how many connections it looked at (0 for SQLite).
    fn check_transport(&mut self) -> BenchResult<usize> {
        Ok(0)
    }
}

/// Opens the admin connection for `target`.
pub fn connect(target: &Target) -> BenchResult<Box<dyn Admin>> {
    Ok(match target.backend {
        Backend::Sqlite | Backend::SqliteMemory => Box::new(open_sqlite(target)?),
        Backend::Postgres => Box::new(postgres::Client::connect(&target.url, postgres::NoTls)?),
        Backend::Mysql => Box::new(mysql::Conn::new(target.mysql_opts()?)?),
    })
}

/// A rusqlite connection to a SQLite target, with the target's pragmas run.
pub fn open_sqlite(target: &Target) -> BenchResult<rusqlite::Connection> {
    // rusqlite opens with SQLITE_OPEN_URI, which the in-memory target's `file:` name needs.
    let conn = rusqlite::Connection::open(&target.url)?;
    if let Some(pragmas) = target.backend.sqlite_pragmas() {
        conn.execute_batch(pragmas)?;
    }
    Ok(conn)
}

/// Accepts only plain names, so the database name can be spliced into DDL unquoted.
pub(crate) fn checked_database_name(database: &str) -> BenchResult<&str> {
    let plain = !database.is_empty()
        && database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(database)
    } else {
        Err(format!("bench database name `{database}` must be letters, digits and `_`").into())
    }
}

/// Drops and creates `database` on the PostgreSQL server at `server_url`.
pub fn recreate_postgres_database(server_url: &str, database: &str) -> BenchResult<()> {
    let database = checked_database_name(database)?;
    let mut client = postgres::Client::connect(server_url, postgres::NoTls)
        .map_err(|e| format!("PostgreSQL at {server_url} is not reachable: {e}"))?;
    // Two calls: a multi-statement string would run as one transaction, which CREATE DATABASE
    // refuses.
    client.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
    ))?;
    client.batch_execute(&format!("CREATE DATABASE \"{database}\""))?;
    Ok(())
}

/// Drops and creates `database` on the MariaDB / MySQL server at `server_url`.
pub fn recreate_mysql_database(server_url: &str, database: &str) -> BenchResult<()> {
    use mysql::prelude::Queryable;
    let database = checked_database_name(database)?;
    let mut conn = mysql::Conn::new(config::mysql_opts(server_url)?)
        .map_err(|e| format!("MariaDB at {server_url} is not reachable: {e}"))?;
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))?;
    conn.query_drop(format!(
        "CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))?;
    Ok(())
}

/// A value of a seeded row, bound through whichever driver seeds.
enum Cell<'a> {
    Int(i32),
    Text(Option<&'a str>),
}

/// The fixture as `(insert prefix, rows)` per table, parents first.
fn tables(fixture: &Fixture) -> [(&'static str, usize, Vec<Vec<Cell<'_>>>); 3] {
    let users = fixture
        .users
        .iter()
        .map(|u| {
            vec![
                Cell::Int(u.id),
                Cell::Text(Some(&u.name)),
                Cell::Text(u.hair_color.as_deref()),
            ]
        })
        .collect();
    let posts = fixture
        .posts
        .iter()
        .map(|p| {
            vec![
                Cell::Int(p.id),
                Cell::Int(p.user_id),
                Cell::Text(Some(&p.title)),
                Cell::Text(p.body.as_deref()),
            ]
        })
        .collect();
    let comments = fixture
        .comments
        .iter()
        .map(|c| {
            vec![
                Cell::Int(c.id),
                Cell::Int(c.post_id),
                Cell::Text(Some(&c.text)),
            ]
        })
        .collect();
    [
        ("INSERT INTO users (id, name, hair_color) VALUES ", 3, users),
        (
            "INSERT INTO posts (id, user_id, title, body) VALUES ",
            4,
            posts,
        ),
        (
            "INSERT INTO comments (id, post_id, text) VALUES ",
            3,
            comments,
        ),
    ]
}

/// Rows per multi-row INSERT while seeding the servers.
const SEED_CHUNK: usize = 500;

/// `(?, ?), (?, ?)` for `rows` rows of `width` columns; `numbered` gives `$1`-style markers.
fn values_list(rows: usize, width: usize, numbered: bool) -> String {
    let mut sql = String::new();
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", r * width + c + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

// On the in-memory target SQLite refuses WAL and keeps the connection's memory journal.
const SQLITE_SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL, body TEXT);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
    text TEXT NOT NULL);
CREATE INDEX posts_user_id ON posts (user_id);
CREATE INDEX comments_post_id ON comments (post_id);
";

impl Admin for rusqlite::Connection {
    fn create_schema(&mut self) -> BenchResult<()> {
        self.execute_batch(SQLITE_SCHEMA)?;
        Ok(())
    }

    fn load(&mut self, fixture: &Fixture) -> BenchResult<()> {
        let tx = self.transaction()?;
        tx.execute_batch("DELETE FROM comments; DELETE FROM posts; DELETE FROM users;")?;
        for (prefix, width, rows) in tables(fixture) {
            let mut stmt = tx.prepare(&format!("{prefix}{}", values_list(1, width, false)))?;
            for row in &rows {
                let params: Vec<&dyn rusqlite::ToSql> = row
                    .iter()
                    .map(|cell| match cell {
                        Cell::Int(v) => v as &dyn rusqlite::ToSql,
                        Cell::Text(v) => v as &dyn rusqlite::ToSql,
                    })
                    .collect();
                stmt.execute(params.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn clear_users(&mut self) -> BenchResult<()> {
        self.execute("DELETE FROM users", [])?;
        Ok(())
    }

    fn users(&mut self) -> BenchResult<Vec<User>> {
        let mut stmt = self.prepare("SELECT id, name, hair_color FROM users ORDER BY id")?;
        let users = stmt
            .query_map([], |r| {
                Ok(User {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    hair_color: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(users)
    }
}

const POSTGRES_SCHEMA: &str = "
CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT);
CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL, body TEXT);
CREATE TABLE comments (id SERIAL PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
    text TEXT NOT NULL);
CREATE INDEX posts_user_id ON posts (user_id);
CREATE INDEX comments_post_id ON comments (post_id);
";

impl Admin for postgres::Client {
    fn create_schema(&mut self) -> BenchResult<()> {
        self.batch_execute(POSTGRES_SCHEMA)?;
        Ok(())
    }

    fn load(&mut self, fixture: &Fixture) -> BenchResult<()> {
        let mut tx = self.transaction()?;
        tx.batch_execute("TRUNCATE comments, posts, users RESTART IDENTITY")?;
        for (prefix, width, rows) in tables(fixture) {
            for chunk in rows.chunks(SEED_CHUNK) {
                let sql = format!("{prefix}{}", values_list(chunk.len(), width, true));
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = chunk
                    .iter()
                    .flatten()
                    .map(|cell| match cell {
                        Cell::Int(v) => v as &(dyn postgres::types::ToSql + Sync),
                        Cell::Text(v) => v as &(dyn postgres::types::ToSql + Sync),
                    })
                    .collect();
                tx.execute(&sql, &params)?;
            }
        }
        // Explicit ids leave the sequences behind; move them past the seeded rows.
        for table in ["users", "posts", "comments"] {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                ),
                &[],
            )?;
        }
        tx.commit()?;
        // Fresh statistics, so the planner sees the new sizes as every implementation does.
        self.batch_execute("ANALYZE users, posts, comments")?;
        Ok(())
    }

    fn clear_users(&mut self) -> BenchResult<()> {
        self.execute("DELETE FROM users", &[])?;
        Ok(())
    }

    fn check_transport(&mut self) -> BenchResult<usize> {
        // No client address means a Unix socket.
        let row = self.query_one(
            "SELECT count(*), count(*) FILTER (WHERE a.client_addr IS NULL), \
             count(*) FILTER (WHERE s.ssl) \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = current_database()",
            &[],
        )?;
        let (all, socket, tls): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if socket > 0 || tls > 0 {
            return Err(format!(
                "of {all} connections to the bench database, {socket} use a Unix socket and \
                 {tls} use TLS; every client must use TCP without TLS"
            )
            .into());
        }
        Ok(usize::try_from(all)?)
    }

    fn users(&mut self) -> BenchResult<Vec<User>> {
        let rows = self.query("SELECT id, name, hair_color FROM users ORDER BY id", &[])?;
        Ok(rows
            .iter()
            .map(|r| User {
                id: r.get(0),
                name: r.get(1),
                hair_color: r.get(2),
            })
            .collect())
    }
}

const MYSQL_SCHEMA: &[&str] = &[
    "CREATE TABLE users (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(255) NOT NULL, hair_color VARCHAR(255)) ENGINE = InnoDB",
    "CREATE TABLE posts (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
        user_id INTEGER NOT NULL, title VARCHAR(255) NOT NULL, body TEXT,
        FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE = InnoDB",
    "CREATE TABLE comments (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
        post_id INTEGER NOT NULL, text VARCHAR(255) NOT NULL,
        FOREIGN KEY (post_id) REFERENCES posts (id)) ENGINE = InnoDB",
];

impl Admin for mysql::Conn {
    fn create_schema(&mut self) -> BenchResult<()> {
        use mysql::prelude::Queryable;
        for ddl in MYSQL_SCHEMA {
            self.query_drop(ddl)?;
        }
        Ok(())
    }

    fn load(&mut self, fixture: &Fixture) -> BenchResult<()> {
        use mysql::prelude::Queryable;
        // TRUNCATE resets AUTO_INCREMENT; InnoDB refuses it on a referenced table unless the
        // checks are off for this session.
        self.query_drop("SET FOREIGN_KEY_CHECKS = 0")?;
        for table in ["comments", "posts", "users"] {
            self.query_drop(format!("TRUNCATE TABLE {table}"))?;
        }
        self.query_drop("SET FOREIGN_KEY_CHECKS = 1")?;
        let mut tx = self.start_transaction(mysql::TxOpts::default())?;
        for (prefix, width, rows) in tables(fixture) {
            for chunk in rows.chunks(SEED_CHUNK) {
                let sql = format!("{prefix}{}", values_list(chunk.len(), width, false));
                let params: Vec<mysql::Value> = chunk
                    .iter()
                    .flatten()
                    .map(|cell| match cell {
                        Cell::Int(v) => mysql::Value::from(*v),
                        Cell::Text(v) => mysql::Value::from(*v),
                    })
                    .collect();
                tx.exec_drop(sql, params)?;
            }
        }
        tx.commit()?;
        self.query_drop("ANALYZE TABLE users, posts, comments")?;
        Ok(())
    }

    fn clear_users(&mut self) -> BenchResult<()> {
        use mysql::prelude::Queryable;
        self.query_drop("DELETE FROM users")?;
        Ok(())
    }

    fn check_transport(&mut self) -> BenchResult<usize> {
        use mysql::prelude::Queryable;
        // A TCP client's host is `address:port`; a Unix socket's is `localhost`.
        let hosts: Vec<String> =
            self.query("SELECT host FROM information_schema.processlist WHERE db = DATABASE()")?;
        let socket = hosts.iter().filter(|h| !h.contains(':')).count();
        if socket > 0 {
            return Err(format!(
                "of {} connections to the bench database, {socket} use a Unix socket; every \
                 client must use TCP",
                hosts.len()
            )
            .into());
        }
        // Other sessions' TLS state is not visible without performance_schema; a server
        // without TLS rules it out, and the clients are told not to use it.
        let cipher: Option<(String, String)> =
            self.query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")?;
        if cipher.is_some_and(|(_, value)| !value.is_empty()) {
            return Err("the admin connection uses TLS".into());
        }
        Ok(hosts.len())
    }

    fn users(&mut self) -> BenchResult<Vec<User>> {
        use mysql::prelude::Queryable;
        let rows: Vec<(i32, String, Option<String>)> =
            self.query("SELECT id, name, hair_color FROM users ORDER BY id")?;
        Ok(rows
            .into_iter()
            .map(|(id, name, hair_color)| User {
                id,
                name,
                hair_color,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_postgres_markers_across_rows() {
        assert_eq!(values_list(2, 2, true), "($1, $2), ($3, $4)");
        assert_eq!(values_list(1, 3, false), "(?, ?, ?)");
    }

    #[test]
    fn database_names_with_quotes_are_refused() {
        assert!(checked_database_name("retort_bench").is_ok());
        assert!(checked_database_name("x\"; DROP").is_err());
        assert!(checked_database_name("").is_err());
    }

    #[test]
    fn sqlite_admin_loads_and_reads_back_a_fixture() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.create_schema().unwrap();
        let fixture = Fixture::users_posts_comments(3, 2, 2);
        conn.load(&fixture).unwrap();
        conn.load(&fixture).unwrap();
        assert_eq!(conn.users().unwrap(), fixture.users);
        let comments: i64 = conn
            .query_row("SELECT COUNT(*) FROM comments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(comments, 12);
    }
}
