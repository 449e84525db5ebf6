//! The migrator: upgrade, downgrade, stamp and read a database's revision, online or as an
//! offline SQL script.
//!
//! Online, each revision runs in its own transaction where DDL is transactional (PostgreSQL,
//! SQLite), with its version-table change, so a failing revision leaves the database at the
//! last good one. Where DDL commits implicitly (MySQL, MariaDB) a revision's version row is
//! written right after its operations; a failure is an [`Error::Migration`] naming the
//! revision, the step and the statement.
//!
//! ```
//! use retort_core::schema::Column;
//! use retort_core::types::SqlType;
//! use retort_migrate::{Migrator, Ops, Revision, TableDef};
//!
//! fn upgrade(op: &mut Ops) {
//!     op.create_table(TableDef::new("users").column(Column::new("id", SqlType::Integer).primary_key()));
//! }
//! fn downgrade(op: &mut Ops) {
//!     op.drop_table("users");
//! }
//! const USERS: Revision = Revision { id: "3f9a2c1b7d4e", down_revisions: &[], message: "add users", upgrade, downgrade };
//!
//! let engine = retort_core::create_engine("sqlite://")?;
//! let migrator = Migrator::new(vec![USERS]);
//! migrator.upgrade(&engine, "head")?;
//! assert_eq!(migrator.current(&engine)?, ["3f9a2c1b7d4e"]);
//! migrator.downgrade(&engine, "base")?;
//! assert!(migrator.current(&engine)?.is_empty());
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use retort_core::dialect::Dialect;
use retort_core::schema::ddl::has_enum_type;
use retort_core::schema::{DdlStatement, MetaData, ReflectedTable};
use retort_core::{Connection, Engine, Error, MigrationError, Result};

use crate::graph::{RevisionGraph, Target};
use crate::ops::{Operation, TableName};
use crate::render::{self, Offline, SchemaSource};
use crate::revision::Revision;
use crate::version::{
    downgrade_changes, upgrade_changes, VersionChange, VersionTable, DEFAULT_VERSION_TABLE,
};

/// Which way a revision runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying revisions.
    Upgrade,
    /// Undoing them.
    Downgrade,
}

impl Direction {
    /// `"upgrade"` or `"downgrade"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// A project's migrations: its revisions, its models' metadata, where its revision files
/// live and what its version table is called.
#[derive(Debug, Clone)]
pub struct Migrator {
    revisions: Vec<Revision>,
    metadata: Option<MetaData>,
    migrations_dir: PathBuf,
    version_table: VersionTable,
}

impl Migrator {
    /// A migrator over `revisions`, with the folder `migrations` and the version table
    /// `retort_version`.
    pub fn new(revisions: Vec<Revision>) -> Self {
        Migrator {
            revisions,
            metadata: None,
            migrations_dir: PathBuf::from("migrations"),
            version_table: VersionTable::new(DEFAULT_VERSION_TABLE),
        }
    }

    /// The models' metadata, which autogenerate compares with the database.
    pub fn metadata(mut self, metadata: MetaData) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The folder holding the revision files and their `mod.rs`.
    pub fn migrations_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.migrations_dir = dir.into();
        self
    }

    /// Names the version table.
    pub fn version_table(mut self, name: impl Into<String>) -> Self {
        self.version_table = VersionTable::new(name);
        self
    }

    /// The models' metadata, if one was given.
    pub fn target_metadata(&self) -> Option<&MetaData> {
        self.metadata.as_ref()
    }

    /// The folder of the revision files.
    pub fn dir(&self) -> &Path {
        &self.migrations_dir
    }

    /// The version table.
    pub fn versions(&self) -> &VersionTable {
        &self.version_table
    }

    /// The revisions as a checked graph.
    pub fn graph(&self) -> Result<RevisionGraph> {
        RevisionGraph::new(self.revisions.clone())
    }

    /// The applied heads, sorted; empty when the database has none (or no version table).
    pub fn current(&self, engine: &Engine) -> Result<Vec<String>> {
        self.version_table.read(&mut engine.connect()?)
    }

    /// Applies revisions up to `target` (`head`, `heads`, a revision id or prefix, `+N`).
    pub fn upgrade(&self, engine: &Engine, target: &str) -> Result<()> {
        self.migrate(engine, Direction::Upgrade, target, &mut io::sink())
    }

    /// Undoes revisions down to `target` (`base`, a revision id or prefix, `-N`).
    pub fn downgrade(&self, engine: &Engine, target: &str) -> Result<()> {
        self.migrate(engine, Direction::Downgrade, target, &mut io::sink())
    }

    /// Records `target` as the database's revision without running anything.
    pub fn stamp(&self, engine: &Engine, target: &str) -> Result<()> {
        self.stamp_logged(engine, target, &mut io::sink())
    }

    pub(crate) fn stamp_logged(
        &self,
        engine: &Engine,
        target: &str,
        log: &mut dyn Write,
    ) -> Result<()> {
        let graph = self.graph()?;
        let mut conn = engine.connect()?;
        self.version_table.ensure(&mut conn)?;
        let current = self.version_table.read(&mut conn)?;
        let wanted: Vec<String> = match graph.resolve(target, &current)? {
            Target::Base => Vec::new(),
            Target::Revisions(ids) => ids.into_iter().map(String::from).collect(),
        };
        let changes: Vec<VersionChange> = current
            .iter()
            .filter(|id| !wanted.contains(id))
            .map(|id| VersionChange::Delete(id.clone()))
            .chain(
                wanted
                    .iter()
                    .filter(|id| !current.contains(id))
                    .map(|id| VersionChange::Insert(id.clone())),
            )
            .collect();
        line(
            log,
            &format!(
                "Running stamp_revision {} -> {}",
                current.join(", "),
                wanted.join(", ")
            ),
        )?;
        let transactional = conn.dialect().capabilities().transactional_ddl;
        if transactional {
            conn.begin_transaction()?;
        }
        let result = changes
            .iter()
            .try_for_each(|change| self.version_table.apply(&mut conn, change));
        if transactional {
            return match result {
                Ok(()) => conn.commit_transaction(),
                Err(e) => {
                    let _ = conn.rollback_transaction();
                    Err(e)
                }
            };
        }
        result
    }

    /// Runs the revisions between the database's heads and `target`, writing a line per
    /// revision to `log`.
    pub(crate) fn migrate(
        &self,
        engine: &Engine,
        direction: Direction,
        target: &str,
        log: &mut dyn Write,
    ) -> Result<()> {
        let graph = self.graph()?;
        let mut conn = engine.connect()?;
        self.version_table.ensure(&mut conn)?;
        let mut heads = self.version_table.read(&mut conn)?;
        graph.check_current(&heads)?;
        let plan = match direction {
            Direction::Upgrade => graph.upgrade_plan(&heads, target)?,
            Direction::Downgrade => graph.downgrade_plan(&heads, target)?,
        };
        for rev in plan {
            let changes = match direction {
                Direction::Upgrade => upgrade_changes(&heads, rev),
                Direction::Downgrade => downgrade_changes(&graph, &heads, rev),
            };
            line(log, &running_line(rev, direction))?;
            self.run_revision(&mut conn, rev, direction, &changes)?;
            for change in &changes {
                change.apply(&mut heads);
            }
        }
        Ok(())
    }

    /// One revision: its operations and its version-table change, in one transaction where
    /// DDL is transactional.
    fn run_revision(
        &self,
        conn: &mut Connection,
        rev: &Revision,
        direction: Direction,
        changes: &[VersionChange],
    ) -> Result<()> {
        let d = conn.dialect_ref();
        if !d.capabilities().transactional_ddl {
            return self.run_steps(conn, rev, direction, changes);
        }
        // Enforcement is switched off before BEGIN (SQLite ignores the switch inside a
        // transaction) so a table rebuild does not fire the referring tables' actions.
        let switch = match d.foreign_key_switch() {
            Some(switch) => {
                let on = conn.exec_driver_sql(switch.status, &[])?;
                let on = match on.rows().first() {
                    Some(row) => row.get::<i64>(0)? != 0,
                    None => false,
                };
                if on {
                    conn.exec_driver_sql(switch.disable, &[])?;
                }
                on.then_some(switch)
            }
            None => None,
        };
        let result = conn.begin_transaction().and_then(|()| {
            let ran = self
                .run_steps(conn, rev, direction, changes)
                .and_then(|()| match switch {
                    Some(switch) => broken_references(conn, switch.check, rev, direction),
                    None => Ok(()),
                });
            match ran {
                Ok(()) => conn.commit_transaction(),
                Err(e) => {
                    // The step's error is the one to report; a failed rollback adds nothing.
                    let _ = conn.rollback_transaction();
                    Err(e)
                }
            }
        });
        if let Some(switch) = switch {
            let restored = conn.exec_driver_sql(switch.enable, &[]);
            result?;
            restored?;
            return Ok(());
        }
        result
    }

    /// The revision's operations, then its version-table change.
    fn run_steps(
        &self,
        conn: &mut Connection,
        rev: &Revision,
        direction: Direction,
        changes: &[VersionChange],
    ) -> Result<()> {
        let d = conn.dialect_ref();
        let operations = operations(rev, direction);
        let steps = operations.len();
        let fail = |step: usize, sql: Option<&str>, e: Error| {
            Error::Migration(Box::new(MigrationError {
                revision: rev.id.into(),
                direction: direction.as_str(),
                step,
                steps,
                sql: sql.map(String::from),
                source: e,
            }))
        };
        for (i, op) in operations.iter().enumerate() {
            let statements = render::operation_sql(&*d, op, &mut LiveSource { conn })
                .map_err(|e| fail(i + 1, None, e))?;
            for sql in &statements {
                conn.exec_driver_sql(sql, &[])
                    .map_err(|e| fail(i + 1, Some(sql), e))?;
            }
        }
        for change in changes {
            self.version_table
                .apply(conn, change)
                .map_err(|e| fail(0, None, e))?;
        }
        Ok(())
    }

    /// The SQL script that upgrades a database at `from` (`None`: an empty database, whose
    /// version table the script creates) to `target`, for dialect `d`.
    pub fn upgrade_sql(&self, d: &dyn Dialect, from: Option<&str>, target: &str) -> Result<String> {
        self.offline(d, Direction::Upgrade, from, target)
    }

    /// The SQL script that downgrades a database at `from` to `target`. Offline there is no
    /// database to read the revision from, so `from` is required (`from:to` on the command
    /// line).
    pub fn downgrade_sql(
        &self,
        d: &dyn Dialect,
        from: Option<&str>,
        target: &str,
    ) -> Result<String> {
        if from.is_none() {
            return Err(Error::Argument(format!(
                "an offline downgrade needs the revision the database is at: give FROM:TO, \
                 e.g. head:{target}"
            )));
        }
        self.offline(d, Direction::Downgrade, from, target)
    }

    fn offline(
        &self,
        d: &dyn Dialect,
        direction: Direction,
        from: Option<&str>,
        target: &str,
    ) -> Result<String> {
        let graph = self.graph()?;
        let mut heads: Vec<String> = match from.map(|f| graph.resolve(f, &[])).transpose()? {
            None | Some(Target::Base) => Vec::new(),
            Some(Target::Revisions(ids)) => ids.into_iter().map(String::from).collect(),
        };
        let plan = match direction {
            Direction::Upgrade => graph.upgrade_plan(&heads, target)?,
            Direction::Downgrade => graph.downgrade_plan(&heads, target)?,
        };
        let mut script = String::new();
        let transactional = d.capabilities().transactional_ddl;
        let switch = d.foreign_key_switch();
        if let Some(switch) = switch {
            push_statement(&mut script, switch.disable);
        }
        if direction == Direction::Upgrade && heads.is_empty() {
            for sql in self.version_table.create_sql(d)? {
                push_statement(&mut script, &sql);
            }
        }
        for rev in plan {
            let changes = match direction {
                Direction::Upgrade => upgrade_changes(&heads, rev),
                Direction::Downgrade => downgrade_changes(&graph, &heads, rev),
            };
            script.push_str("-- ");
            // A message of several lines must not end the comment.
            script.push_str(&running_line(rev, direction).replace('\n', " "));
            script.push_str("\n\n");
            if transactional {
                push_statement(&mut script, "BEGIN");
            }
            for op in operations(rev, direction) {
                for sql in render::operation_sql(d, &op, &mut Offline)? {
                    push_statement(&mut script, &sql);
                }
            }
            for change in &changes {
                push_statement(&mut script, &self.version_table.change_sql(change, d)?);
                change.apply(&mut heads);
            }
            if transactional {
                push_statement(&mut script, "COMMIT");
            }
        }
        if let Some(switch) = switch {
            push_statement(&mut script, switch.enable);
        }
        script.truncate(script.trim_end().len());
        script.push('\n');
        Ok(script)
    }
}

fn push_statement(script: &mut String, sql: &str) {
    script.push_str(sql);
    script.push_str(";\n\n");
}

/// The operations `rev` records for `direction`.
fn operations(rev: &Revision, direction: Direction) -> Vec<Operation> {
    match direction {
        Direction::Upgrade => rev.upgrade_operations(),
        Direction::Downgrade => rev.downgrade_operations(),
    }
}

/// Alembic's log line: `Running upgrade  -> 3f9a2c1b7d4e, add users`.
pub(crate) fn running_line(rev: &Revision, direction: Direction) -> String {
    let parents = rev.down_revisions.join(", ");
    match direction {
        Direction::Upgrade => format!("Running upgrade {parents} -> {}, {}", rev.id, rev.message),
        Direction::Downgrade => {
            format!("Running downgrade {} -> {parents}, {}", rev.id, rev.message)
        }
    }
}

/// Writes one line of output.
pub(crate) fn line(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{text}").map_err(|e| io_error("writing the output", &e))
}

/// An I/O failure as retort's error, saying what was being done.
pub(crate) fn io_error(doing: &str, e: &io::Error) -> Error {
    Error::InvalidRequest(format!("{doing}: {e}"))
}

/// Fails when `check` (SQLite's `PRAGMA foreign_key_check`) returns rows: the revision left
/// references that point nowhere.
fn broken_references(
    conn: &mut Connection,
    check: &str,
    rev: &Revision,
    direction: Direction,
) -> Result<()> {
    let broken = conn.exec_driver_sql(check, &[])?;
    if broken.rows().is_empty() {
        return Ok(());
    }
    let mut tables: Vec<String> = broken
        .rows()
        .iter()
        .filter_map(|row| row.get::<String>(0).ok())
        .collect();
    tables.dedup();
    Err(Error::InvalidRequest(format!(
        "the {} of revision {} leaves {} foreign key reference(s) pointing nowhere (in {}); \
         rolled back",
        direction.as_str(),
        rev.id,
        broken.rows().len(),
        tables.join(", ")
    )))
}

/// The schema source of an online run: the database the revision runs on.
struct LiveSource<'c> {
    conn: &'c mut Connection,
}

impl SchemaSource for LiveSource<'_> {
    fn reflect_table(&mut self, table: &TableName) -> Result<Option<ReflectedTable>> {
        let mut inspector = self.conn.inspect();
        let schema = table.schema.as_deref();
        if !inspector.has_table(&table.name, schema)? {
            return Ok(None);
        }
        inspector.table(&table.name, schema).map(Some)
    }

    fn type_exists(&mut self, d: &dyn Dialect, create: &DdlStatement) -> Result<bool> {
        let query = has_enum_type(create, d)?;
        Ok(!self
            .conn
            .exec_driver_sql(&query.sql, &query.params)?
            .rows()
            .is_empty())
    }
}
