//! Scaffolding: revision ids, the revision file writer, `mod.rs` regeneration and `init`. The
//! folder `fixtures/migrations` was written by the writer and is compiled in here, so the
//! files it writes are proven to be Rust that builds against the prelude.

use std::fs;
use std::path::{Path, PathBuf};

use retort_migrate::scaffold::{self, mod_rs, new_revision_id, slug, RevisionFile};
use retort_migrate::{Operation, RevisionGraph};

#[path = "fixtures/migrations/mod.rs"]
mod migrations;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migrations");

/// The revision files of the fixture folder, as the writer is given them.
fn fixture_files() -> Vec<RevisionFile> {
    vec![
        RevisionFile::new("1a2b3c4d5e6f", Vec::new(), "create users")
            .date("2024-05-01 12:00:00 UTC")
            .bodies(
                "op.create_table(\n    TableDef::new(\"users\")\n        .column(Column::new(\"id\", SqlType::Integer).primary_key())\n        .column(Column::new(\"name\", SqlType::string(50)).not_null()),\n);\nop.create_index(\"users\", Index::new(\"ix_users_name\", [\"name\"]));",
                "op.drop_table(\"users\");",
            ),
        RevisionFile::new("2b3c4d5e6f70", vec!["1a2b3c4d5e6f".into()], "Add posts; with \"quotes\"")
            .date("2024-05-02 08:30:00 UTC")
            .bodies(
                "op.create_table(\n    TableDef::new(\"posts\")\n        .column(Column::new(\"id\", SqlType::Integer).primary_key())\n        .column(Column::new(\"title\", SqlType::string(100))),\n);",
                "op.drop_table(\"posts\");",
            ),
    ]
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("retort_scaffold_{name}_{}", new_revision_id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn the_writer_reproduces_the_fixture_byte_for_byte() {
    let files = fixture_files();
    let mut modules = Vec::new();
    for file in &files {
        let path = Path::new(FIXTURE).join(file.file_name());
        assert_eq!(read(&path), file.render(), "{}", path.display());
        modules.push(file.module_name());
    }
    assert_eq!(read(&Path::new(FIXTURE).join("mod.rs")), mod_rs(&modules));
    // And writing them afresh gives the same folder.
    let dir = temp_dir("fixture");
    for file in &files {
        file.write(&dir).unwrap();
    }
    for name in [
        "mod.rs",
        "r_1a2b3c4d5e6f_create_users.rs",
        "r_2b3c4d5e6f70_add_posts_with_quotes.rs",
    ] {
        assert_eq!(
            read(&dir.join(name)),
            read(&Path::new(FIXTURE).join(name)),
            "{name}"
        );
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_compiled_fixture_is_the_revisions_it_describes() {
    let revisions = migrations::revisions();
    let graph = RevisionGraph::new(revisions).unwrap();
    assert_eq!(graph.heads(), ["2b3c4d5e6f70"]);
    let users = graph.get("1a2b3c4d5e6f").unwrap();
    assert_eq!(users.message, "create users");
    let ops = users.upgrade_operations();
    assert_eq!(ops.len(), 2);
    assert!(
        matches!(&ops[0], Operation::CreateTable(def) if def.name.name == "users" && def.columns.len() == 2)
    );
    assert!(
        matches!(&ops[1], Operation::CreateIndex { index, .. } if index.name() == Some("ix_users_name"))
    );
    let posts = graph.get("2b3c4d5e6f70").unwrap();
    assert_eq!(posts.message, "Add posts; with \"quotes\"");
    assert_eq!(posts.down_revisions, ["1a2b3c4d5e6f"]);
    assert_eq!(
        posts.downgrade_operations(),
        [Operation::DropTable("posts".into())]
    );
}

#[test]
fn an_empty_revision_file_golden() {
    let file = RevisionFile::new(
        "abcdef012345",
        vec!["aaaaaaaaaaaa".into(), "bbbbbbbbbbbb".into()],
        "merge heads",
    )
    .date("2024-06-01 00:00:00 UTC");
    assert_eq!(file.file_name(), "r_abcdef012345_merge_heads.rs");
    assert_eq!(
        file.render(),
        r#"//! merge heads
//!
//! Revision ID: abcdef012345
//! Revises: aaaaaaaaaaaa, bbbbbbbbbbbb
//! Create Date: 2024-06-01 00:00:00 UTC

use retort_migrate::prelude::*;

pub const REVISION: Revision = Revision {
    id: "abcdef012345",
    down_revisions: &["aaaaaaaaaaaa", "bbbbbbbbbbbb"],
    message: "merge heads",
    upgrade,
    downgrade,
};

fn upgrade(_op: &mut Ops) {}

fn downgrade(_op: &mut Ops) {}
"#
    );
}

#[test]
fn ids_slugs_and_dates() {
    let a = new_revision_id();
    let b = new_revision_id();
    assert_eq!(a.len(), 12);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{a}"
    );
    assert_ne!(a, b);
    assert_eq!(
        slug("Add a column: users.nickname!"),
        "add_a_column_users_nickname"
    );
    assert_eq!(slug("  ---  "), "");
    assert_eq!(
        RevisionFile::new("abc", Vec::new(), "!!").file_name(),
        "r_abc.rs"
    );
    let date = scaffold::now_utc();
    assert!(
        date.ends_with(" UTC") && date.len() == 23 && date.starts_with("20"),
        "{date}"
    );
}

#[test]
fn mod_rs_lists_every_revision_file_sorted() {
    let dir = temp_dir("modrs");
    fs::write(dir.join("notes.rs"), "// not a revision").unwrap();
    RevisionFile::new("bbb", Vec::new(), "second")
        .write(&dir)
        .unwrap();
    RevisionFile::new("aaa", Vec::new(), "first")
        .write(&dir)
        .unwrap();
    assert_eq!(
        read(&dir.join("mod.rs")),
        "//! The project's revisions. Generated by retort-migrate: `revision` and `merge`
//! rewrite this file, so do not edit it.

mod r_aaa_first;
mod r_bbb_second;

/// Every revision of this folder.
pub fn revisions() -> Vec<retort_migrate::Revision> {
    vec![
        r_aaa_first::REVISION,
        r_bbb_second::REVISION,
    ]
}
"
    );
    let again = RevisionFile::new("aaa", Vec::new(), "first")
        .write(&dir)
        .unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn init_writes_the_folder_and_the_binary_once() {
    let dir = temp_dir("init");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/lib.rs"), "").unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"my-app\"\nversion = \"0.1.0\"\n\n[dependencies]\nname = \"x\"\n",
    )
    .unwrap();
    let written = scaffold::init(&dir).unwrap();
    assert_eq!(
        written,
        [
            dir.join("migrations/mod.rs"),
            dir.join("src/bin/migrate.rs")
        ]
    );
    assert_eq!(read(&written[0]), mod_rs(&[]));
    assert!(read(&written[0]).contains("    Vec::new()\n"));
    let main = read(&written[1]);
    assert_eq!(main, scaffold::migrator_main(Some("my_app")));
    assert!(main.contains("extern crate my_app;"), "{main}");
    assert!(
        main.contains("#[path = \"../../migrations/mod.rs\"]\nmod migrations;"),
        "{main}"
    );
    assert!(main.contains(".metadata(metadata)"), "{main}");
    let again = scaffold::init(&dir).unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
    fs::remove_dir_all(&dir).unwrap();

    // A package without a library has no crate to link.
    let bare = temp_dir("init_bare");
    scaffold::init(&bare).unwrap();
    assert_eq!(
        read(&bare.join("src/bin/migrate.rs")),
        scaffold::migrator_main(None)
    );
    assert!(!read(&bare.join("src/bin/migrate.rs")).contains("extern crate"));
    fs::remove_dir_all(bare).unwrap();
}
