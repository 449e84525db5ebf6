//! Writing a project's migration files: revision ids, revision files, the folder's `mod.rs`,
//! and `init`'s folder and migrator binary.
//!
//! A revision file is plain Rust the project compiles:
//!
//! ```
//! use retort_migrate::scaffold::RevisionFile;
//!
//! let file = RevisionFile::new("3f9a2c1b7d4e", Vec::new(), "add users")
//!     .date("2024-05-01 12:00:00 UTC");
//! assert_eq!(file.file_name(), "r_3f9a2c1b7d4e_add_users.rs");
//! assert!(file.render().contains("pub const REVISION: Revision = Revision {"));
//! ```

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use retort_core::{Error, Result};

use crate::runner::io_error;

/// A new revision id: 12 hexadecimal digits from the time and a randomly keyed hash.
pub fn new_revision_id() -> String {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// The current time as a revision file's `Create Date`: `2024-05-01 12:00:00 UTC`.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The message as a file-name part: lowercase letters, digits and single underscores, at
/// most 40 characters.
pub fn slug(message: &str) -> String {
    let mut slug = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    slug.trim_end_matches('_').to_owned()
}

/// A revision file to write: its id, parents, message, date and the bodies of its
/// `upgrade` and `downgrade` functions (autogenerate fills them; `revision` leaves them empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionFile {
    /// The revision's id.
    pub id: String,
    /// The revisions it follows: none for the first, two or more for a merge.
    pub down_revisions: Vec<String>,
    /// What it does.
    pub message: String,
    /// When it was written, as the doc comment shows it.
    pub date: String,
    /// The statements of `upgrade`, one per line, unindented; empty for none.
    pub upgrade_body: String,
    /// The statements of `downgrade`, one per line, unindented; empty for none.
    pub downgrade_body: String,
}

impl RevisionFile {
    /// A revision file with empty bodies, dated now.
    pub fn new(
        id: impl Into<String>,
        down_revisions: Vec<String>,
        message: impl Into<String>,
    ) -> Self {
        RevisionFile {
            id: id.into(),
            down_revisions,
            message: message.into(),
            date: now_utc(),
            upgrade_body: String::new(),
            downgrade_body: String::new(),
        }
    }

    /// Sets the date the doc comment shows.
    pub fn date(mut self, date: impl Into<String>) -> Self {
        self.date = date.into();
        self
    }

    /// Sets the bodies of `upgrade` and `downgrade`.
    pub fn bodies(mut self, upgrade: impl Into<String>, downgrade: impl Into<String>) -> Self {
        self.upgrade_body = upgrade.into();
        self.downgrade_body = downgrade.into();
        self
    }

    /// The module's name: `r_<id>_<slug>`, or `r_<id>` for a message without letters.
    pub fn module_name(&self) -> String {
        match slug(&self.message) {
            s if s.is_empty() => format!("r_{}", self.id),
            s => format!("r_{}_{s}", self.id),
        }
    }

    /// The file's name: the module name with `.rs`.
    pub fn file_name(&self) -> String {
        format!("{}.rs", self.module_name())
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let message = if self.message.trim().is_empty() {
            "(no message)"
        } else {
            self.message.trim()
        };
        for line in message.lines() {
            push_doc_line(&mut out, line);
        }
        out.push_str("//!\n");
        push_doc_line(&mut out, &format!("Revision ID: {}", self.id));
        let revises = if self.down_revisions.is_empty() {
            "<base>".to_owned()
        } else {
            self.down_revisions.join(", ")
        };
        push_doc_line(&mut out, &format!("Revises: {revises}"));
        push_doc_line(&mut out, &format!("Create Date: {}", self.date));
        out.push_str("\nuse retort_migrate::prelude::*;\n\n");
        out.push_str("pub const REVISION: Revision = Revision {\n");
        out.push_str(&format!("    id: {:?},\n", self.id));
        let parents: Vec<String> = self
            .down_revisions
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        out.push_str(&format!("    down_revisions: &[{}],\n", parents.join(", ")));
        out.push_str(&format!("    message: {:?},\n", self.message));
        out.push_str("    upgrade,\n    downgrade,\n};\n");
        push_function(&mut out, "upgrade", &self.upgrade_body);
        push_function(&mut out, "downgrade", &self.downgrade_body);
        out
    }

    /// Writes the file into `dir` and regenerates the folder's `mod.rs`; returns the file's
    /// path. An existing file of the same name is an error.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(self.file_name());
        if path.exists() {
            return Err(Error::InvalidRequest(format!(
                "{} exists already",
                path.display()
            )));
        }
        write_file(&path, &self.render())?;
        write_mod_rs(dir)?;
        Ok(path)
    }
}

fn push_doc_line(out: &mut String, line: &str) {
    if line.is_empty() {
        out.push_str("//!\n");
    } else {
        out.push_str("//! ");
        out.push_str(line);
        out.push('\n');
    }
}

fn push_function(out: &mut String, name: &str, body: &str) {
    // A body of comments only (an autogenerated step left for the user to choose) records
    // nothing, and an unused `op` would warn.
    let records = body.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with("//")
    });
    if !records {
        if body.trim().is_empty() {
            out.push_str(&format!("\nfn {name}(_op: &mut Ops) {{}}\n"));
            return;
        }
        out.push_str(&format!("\nfn {name}(_op: &mut Ops) {{\n"));
        push_body(out, body);
        out.push_str("}\n");
        return;
    }
    out.push_str(&format!("\nfn {name}(op: &mut Ops) {{\n"));
    push_body(out, body);
    out.push_str("}\n");
}

fn push_body(out: &mut String, body: &str) {
    for line in body.trim_end().lines() {
        if !line.is_empty() {
            out.push_str("    ");
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// The `mod.rs` of a folder holding the revision modules `modules` (sorted here).
pub fn mod_rs(modules: &[String]) -> String {
    let mut modules = modules.to_vec();
    modules.sort();
    let mut out = String::from(
        "//! The project's revisions. Generated by retort-migrate: `revision` and `merge`\n\
         //! rewrite this file, so do not edit it.\n\n",
    );
    for module in &modules {
        out.push_str(&format!("mod {module};\n"));
    }
    if !modules.is_empty() {
        out.push('\n');
    }
    out.push_str("/// Every revision of this folder.\n");
    out.push_str("pub fn revisions() -> Vec<retort_migrate::Revision> {\n");
    if modules.is_empty() {
        out.push_str("    Vec::new()\n");
    } else {
        out.push_str("    vec![\n");
        for module in &modules {
            out.push_str(&format!("        {module}::REVISION,\n"));
        }
        out.push_str("    ]\n");
    }
    out.push_str("}\n");
    out
}

/// Rewrites `dir/mod.rs` to list every revision file (`r_*.rs`) in `dir`.
pub fn write_mod_rs(dir: &Path) -> Result<PathBuf> {
    let entries = fs::read_dir(dir)
        .map_err(|e| io_error(&format!("reading the folder {}", dir.display()), &e))?;
    let mut modules = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&format!("reading {}", dir.display()), &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs") {
            if module.starts_with("r_") {
                modules.push(module.to_owned());
            }
        }
    }
    let path = dir.join("mod.rs");
    write_file(&path, &mod_rs(&modules))?;
    Ok(path)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| io_error(&format!("writing {}", path.display()), &e))
}

/// The migrator binary `init` writes; `library` is the project's library crate (whose
/// models must be linked in for `Base::metadata()` to see them), when it has one.
pub fn migrator_main(library: Option<&str>) -> String {
    let mut out = String::from(
        "//! The project's migration tool: `cargo run --bin migrate -- --help`.\n\
         //! Written by `retort-migrate init`; yours to change.\n\n\
         use std::process::ExitCode;\n\n",
    );
    if let Some(library) = library {
        out.push_str(&format!(
            "// Links the library, whose #[derive(Model)] types register the tables\n\
             // Base::metadata() returns.\n\
             extern crate {library};\n\n"
        ));
    }
    out.push_str(
        "#[path = \"../../migrations/mod.rs\"]\n\
         mod migrations;\n\n\
         fn main() -> ExitCode {\n\
         \x20   let metadata = match retort::orm::Base::metadata() {\n\
         \x20       Ok(metadata) => metadata,\n\
         \x20       Err(e) => {\n\
         \x20           eprintln!(\"error: {e}\");\n\
         \x20           return ExitCode::FAILURE;\n\
         \x20       }\n\
         \x20   };\n\
         \x20   retort_migrate::Migrator::new(migrations::revisions())\n\
         \x20       .metadata(metadata)\n\
         \x20       // The folder beside Cargo.toml, wherever the binary is run from.\n\
         \x20       .migrations_dir(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/migrations\"))\n\
         \x20       .run_cli()\n\
         }\n",
    );
    out
}

/// What to do after `init`, as it prints it.
pub const NEXT_STEPS: &str = "\
Next steps:
  1. Add to Cargo.toml's [dependencies]: retort and retort-migrate.
  2. Write the first revision from the models, against an empty database:
     cargo run --bin migrate -- --url sqlite:///app.db revision --autogenerate -m \"create tables\"
     (or set DATABASE_URL instead of --url)
  3. Apply it: cargo run --bin migrate -- --url sqlite:///app.db upgrade head";

/// Sets up migrations in the project at `project`: `migrations/mod.rs` (no revisions yet)
/// and the migrator binary `src/bin/migrate.rs`. Returns the files written; an existing
/// one is an error, and nothing is overwritten.
pub fn init(project: &Path) -> Result<Vec<PathBuf>> {
    let migrations = project.join("migrations");
    let mod_path = migrations.join("mod.rs");
    let bin_dir = project.join("src").join("bin");
    let main_path = bin_dir.join("migrate.rs");
    for path in [&mod_path, &main_path] {
        if path.exists() {
            return Err(Error::InvalidRequest(format!(
                "{} exists already: migrations are set up here",
                path.display()
            )));
        }
    }
    for dir in [&migrations, &bin_dir] {
        fs::create_dir_all(dir)
            .map_err(|e| io_error(&format!("creating {}", dir.display()), &e))?;
    }
    write_file(&mod_path, &mod_rs(&[]))?;
    let library = project
        .join("src")
        .join("lib.rs")
        .exists()
        .then(|| package_name(project))
        .flatten();
    write_file(&main_path, &migrator_main(library.as_deref()))?;
    Ok(vec![mod_path, main_path])
}

/// The crate name of the package at `project` (`[package] name`, `-` as `_`).
fn package_name(project: &Path) -> Option<String> {
    let manifest = fs::read_to_string(project.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
            {
                return Some(value.trim().trim_matches('"').replace('-', "_"));
            }
        }
    }
    None
}
