//! `retort-migrate init [DIR]`: sets up migrations in a project. Everything else runs
//! through the project's own migrator binary, which compiles its revisions in.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "retort-migrate",
    about = "Sets up retort migrations in a project; the project's own `migrate` binary does the rest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes migrations/mod.rs and the migrator binary src/bin/migrate.rs.
    Init {
        /// The project's folder (the one holding Cargo.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let Command::Init { dir } = Cli::parse().command;
    match retort_migrate::scaffold::init(&dir) {
        Ok(written) => {
            for path in written {
                println!("Generating {} ...  done", path.display());
            }
            println!("{}", retort_migrate::scaffold::NEXT_STEPS);
            println!(
                "Other commands (revision, upgrade, downgrade, history, ...) run through it: \
                 cargo run --bin migrate -- --help"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
