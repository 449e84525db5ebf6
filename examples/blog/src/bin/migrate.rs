//! The project's migration tool: `cargo run --bin migrate -- --help`.
//! Written by `retort-migrate init`; yours to change.

use std::process::ExitCode;

// Links the library, whose #[derive(Model)] types register the tables
// Base::metadata() returns.
extern crate retort_example_blog;

#[path = "../../migrations/mod.rs"]
mod migrations;

fn main() -> ExitCode {
    let metadata = match retort::orm::Base::metadata() {
        Ok(metadata) => metadata,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    retort_migrate::Migrator::new(migrations::revisions())
        .metadata(metadata)
        // The folder beside Cargo.toml, wherever the binary is run from.
        .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .run_cli()
}
