//! The command line of a project's migrator binary: Alembic's commands over a [`Migrator`].
//!
//! ```text
//! migrate [--url URL] revision -m MSG [--autogenerate] [--head REV]
//! migrate [--url URL] upgrade [TARGET] [--sql [--dialect sqlite|postgresql|mysql]]
//! migrate [--url URL] downgrade TARGET [--sql [--dialect ...]]
//! migrate [--url URL] current | history [--verbose] | heads | branches
//! migrate merge -m MSG REV REV...
//! migrate [--url URL] stamp TARGET
//! migrate [--url URL] check
//! ```
//!
//! The URL comes from `--url` or the `DATABASE_URL` environment variable.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::DialectRef;
use retort_core::{create_engine, Engine, Error, Result, Url};

use crate::autogenerate::Comparison;
use crate::codegen::steps_source;
use crate::graph::{RevisionGraph, Target};
use crate::revision::Revision;
use crate::runner::{line, Direction, Migrator};
use crate::scaffold::{new_revision_id, RevisionFile};

#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    about = "Migrations for retort, in the manner of Alembic"
)]
struct Cli {
    /// The database URL (default: the DATABASE_URL environment variable).
    #[arg(long, global = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a new revision file: empty, or with --autogenerate the operations that bring
    /// the database to the models.
    Revision {
        /// What the revision does.
        #[arg(short, long)]
        message: String,
        /// Fills the revision with the differences between the models and the database.
        #[arg(long)]
        autogenerate: bool,
        /// The revision it follows (default: the single head).
        #[arg(long)]
        head: Option<String>,
    },
    /// Applies revisions up to TARGET: head, heads, a revision id or prefix, +N.
    Upgrade {
        /// Where to go; `FROM:TO` with --sql.
        #[arg(default_value = "head")]
        target: String,
        #[command(flatten)]
        offline: OfflineArgs,
    },
    /// Undoes revisions down to TARGET: base, a revision id or prefix, -N.
    Downgrade {
        /// Where to go; `FROM:TO` with --sql. (`-1` is a target here, not an option.)
        #[arg(allow_negative_numbers = true)]
        target: String,
        #[command(flatten)]
        offline: OfflineArgs,
    },
    /// Shows the database's revision(s).
    Current,
    /// Lists the revisions, newest first.
    History {
        /// Shows each revision's details.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Shows the revisions no other follows.
    Heads,
    /// Shows where the history branches.
    Branches,
    /// Writes a revision joining REVS (e.g. two heads) into one.
    Merge {
        /// What the merge is for.
        #[arg(short, long)]
        message: String,
        /// The revisions to join (`heads` for all heads).
        #[arg(required = true, num_args = 1..)]
        revisions: Vec<String>,
    },
    /// Fails when the models and the database differ (for CI), listing the differences.
    Check,
    /// Records TARGET as the database's revision without running anything.
    Stamp {
        /// The revision to record (or base, head, heads).
        target: String,
    },
}

#[derive(Debug, clap::Args)]
struct OfflineArgs {
    /// Prints the SQL instead of running it (offline mode).
    #[arg(long)]
    sql: bool,
    /// The dialect of the SQL: sqlite, postgresql, mysql or mariadb (default: the URL's).
    #[arg(long, requires = "sql")]
    dialect: Option<String>,
}

impl Migrator {
    /// Runs the command line of `std::env::args()`: prints the output, or the error on
    /// standard error with a failing exit code.
    pub fn run_cli(self) -> ExitCode {
        let mut stdout = std::io::stdout();
        match self.run_with(std::env::args(), &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// Runs the command line `args` (the program's name first), writing the output to
    /// `out`. `--help` writes the help and succeeds; bad arguments are an
    /// [`Error::Argument`] carrying clap's message.
    pub fn run_with<I, T>(self, args: I, out: &mut dyn Write) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) if !e.use_stderr() => {
                return write!(out, "{}", e.render())
                    .map_err(|e| crate::runner::io_error("writing the output", &e));
            }
            Err(e) => return Err(Error::Argument(e.render().to_string())),
        };
        let url = cli.url.or_else(|| std::env::var("DATABASE_URL").ok());
        let engine = || -> Result<Engine> {
            match &url {
                Some(url) => create_engine(url.as_str()),
                None => Err(Error::Argument(
                    "no database URL: pass --url or set DATABASE_URL".into(),
                )),
            }
        };
        match cli.command {
            Command::Revision {
                message,
                autogenerate,
                head,
            } => {
                let graph = self.graph()?;
                let parents = match head {
                    Some(head) => vec![graph.resolve_id(&head)?.to_owned()],
                    None => match graph.resolve("head", &[])? {
                        Target::Base => Vec::new(),
                        Target::Revisions(ids) => ids.into_iter().map(String::from).collect(),
                    },
                };
                let mut file = RevisionFile::new(new_revision_id(), parents, message);
                if autogenerate {
                    let engine = engine()?;
                    let comparison = self.compare(&engine)?;
                    report(out, &comparison)?;
                    let d = engine.dialect();
                    file = file.bodies(
                        steps_source(d, &comparison.upgrade_steps())?,
                        steps_source(d, &comparison.downgrade_steps())?,
                    );
                }
                self.write_revision(file, out)
            }
            Command::Check => {
                let comparison = self.compare(&engine()?)?;
                report(out, &comparison)?;
                if comparison.is_empty() {
                    Ok(())
                } else {
                    Err(Error::InvalidRequest(format!(
                        "the models and the database differ ({} change(s)): generate a \
                         revision with `revision --autogenerate -m MESSAGE`",
                        comparison.changes.len()
                    )))
                }
            }
            Command::Merge { message, revisions } => {
                let graph = self.graph()?;
                let mut parents: Vec<String> = Vec::new();
                for given in &revisions {
                    let ids = match given.as_str() {
                        "heads" => graph.heads(),
                        _ => vec![graph.resolve_id(given)?],
                    };
                    for id in ids {
                        if !parents.iter().any(|p| p == id) {
                            parents.push(id.to_owned());
                        }
                    }
                }
                if parents.len() < 2 {
                    return Err(Error::Argument(format!(
                        "a merge joins two or more revisions; got {}",
                        parents.join(", ")
                    )));
                }
                self.write_revision(RevisionFile::new(new_revision_id(), parents, message), out)
            }
            Command::Upgrade { target, offline } => {
                self.run_migration(Direction::Upgrade, &target, &offline, url.as_deref(), out)
            }
            Command::Downgrade { target, offline } => {
                self.run_migration(Direction::Downgrade, &target, &offline, url.as_deref(), out)
            }
            Command::Current => {
                let graph = self.graph()?;
                let current = self.current(&engine()?)?;
                graph.check_current(&current)?;
                for id in &current {
                    line(out, &format!("{id}{}", markers(&graph, id)))?;
                }
                Ok(())
            }
            Command::History { verbose } => {
                let graph = self.graph()?;
                for rev in graph.history() {
                    if verbose {
                        write_verbose(out, &graph, rev)?;
                    } else {
                        line(out, &history_line(&graph, rev))?;
                    }
                }
                Ok(())
            }
            Command::Heads => {
                let graph = self.graph()?;
                for id in graph.heads() {
                    line(out, &format!("{id}{}", markers(&graph, id)))?;
                }
                Ok(())
            }
            Command::Branches => {
                let graph = self.graph()?;
                for id in graph.branch_points() {
                    let rev = graph.require(id)?;
                    line(out, &history_line(&graph, rev))?;
                    for child in graph.children(id) {
                        let child = graph.require(child)?;
                        line(
                            out,
                            &format!(
                                "    -> {}{}, {}",
                                child.id,
                                markers(&graph, child.id),
                                child.message
                            ),
                        )?;
                    }
                }
                Ok(())
            }
            Command::Stamp { target } => self.stamp_logged(&engine()?, &target, out),
        }
    }

    /// Writes a revision file into the migrations folder, regenerates its `mod.rs`, and
    /// says so on `out`. Autogenerate fills the file's bodies and calls this too.
    pub fn write_revision(&self, file: RevisionFile, out: &mut dyn Write) -> Result<()> {
        let path = file.write(self.dir())?;
        format_with_rustfmt(&path);
        line(out, &format!("Generating {} ...  done", path.display()))
    }

    fn run_migration(
        &self,
        direction: Direction,
        target: &str,
        offline: &OfflineArgs,
        url: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<()> {
        if !offline.sql {
            let url = url.ok_or_else(|| {
                Error::Argument("no database URL: pass --url or set DATABASE_URL".into())
            })?;
            return self.migrate(&create_engine(url)?, direction, target, out);
        }
        let dialect = offline_dialect(offline.dialect.as_deref(), url)?;
        let (from, to) = match target.split_once(':') {
            Some((from, to)) => (Some(from), to),
            None => (None, target),
        };
        let script = match direction {
            Direction::Upgrade => self.upgrade_sql(&*dialect, from, to)?,
            Direction::Downgrade => self.downgrade_sql(&*dialect, from, to)?,
        };
        out.write_all(script.as_bytes())
            .map_err(|e| crate::runner::io_error("writing the output", &e))
    }
}

/// Formats a written revision file the way the project's `cargo fmt` would, so generated
/// code passes a formatting check (Alembic's post-write hooks do this for Python). Without
/// rustfmt on the PATH the file stays as written: it compiles either way.
fn format_with_rustfmt(path: &std::path::Path) {
    let _ = std::process::Command::new("rustfmt")
        .args(["--edition", "2021"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// `Detected ...` for each difference, or that there is none.
fn report(out: &mut dyn Write, comparison: &Comparison) -> Result<()> {
    if comparison.is_empty() {
        return line(
            out,
            "No changes detected: the models and the database agree.",
        );
    }
    for summary in comparison.summaries() {
        line(out, &format!("Detected {summary}"))?;
    }
    Ok(())
}

/// The dialect of offline mode: `--dialect`, else the URL's database.
fn offline_dialect(name: Option<&str>, url: Option<&str>) -> Result<DialectRef> {
    let from_url;
    let name = match (name, url) {
        (Some(name), _) => name,
        (None, Some(url)) => {
            from_url = Url::parse(url)?;
            from_url.drivername()
        }
        (None, None) => {
            return Err(Error::Argument(
                "--sql needs --dialect (sqlite, postgresql, mysql or mariadb) or a URL".into(),
            ))
        }
    };
    Ok(match name {
        "sqlite" => Arc::new(SqliteDialect),
        "postgresql" | "postgres" => Arc::new(PostgresDialect),
        "mysql" => Arc::new(MySqlDialect { mariadb: false }),
        "mariadb" => Arc::new(MySqlDialect { mariadb: true }),
        other => {
            return Err(Error::Argument(format!(
                "unknown dialect '{other}' (expected sqlite, postgresql, mysql or mariadb)"
            )))
        }
    })
}

/// ` (head)`, ` (branchpoint)`, ` (mergepoint)` as they apply to `id`.
fn markers(graph: &RevisionGraph, id: &str) -> String {
    let mut out = String::new();
    let children = graph.children(id).len();
    if children == 0 {
        out.push_str(" (head)");
    }
    if children > 1 {
        out.push_str(" (branchpoint)");
    }
    if graph.get(id).is_some_and(|r| r.down_revisions.len() > 1) {
        out.push_str(" (mergepoint)");
    }
    out
}

/// `base -> 3f9a2c1b7d4e (head), add users`; a merge's parents in parentheses.
fn history_line(graph: &RevisionGraph, rev: &Revision) -> String {
    let parents = match rev.down_revisions {
        [] => "base".to_owned(),
        [one] => (*one).to_owned(),
        many => format!("({})", many.join(", ")),
    };
    format!(
        "{parents} -> {}{}, {}",
        rev.id,
        markers(graph, rev.id),
        rev.message
    )
}

fn write_verbose(out: &mut dyn Write, graph: &RevisionGraph, rev: &Revision) -> Result<()> {
    line(out, &format!("Rev: {}{}", rev.id, markers(graph, rev.id)))?;
    let parents = if rev.down_revisions.is_empty() {
        "<base>".to_owned()
    } else {
        rev.down_revisions.join(", ")
    };
    line(
        out,
        &format!(
            "{}: {parents}",
            if rev.down_revisions.len() > 1 {
                "Merges"
            } else {
                "Parent"
            }
        ),
    )?;
    let children = graph.children(rev.id);
    if children.len() > 1 {
        line(out, &format!("Branches into: {}", children.join(", ")))?;
    }
    line(out, "")?;
    line(out, &format!("    {}", rev.message))?;
    line(out, "")
}
