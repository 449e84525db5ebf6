//! The command line through `Migrator::run_with`, output captured: the online commands on
//! every backend, the offline and folder commands without a database.

use std::fs;

use retort_migrate::scaffold::new_revision_id;
use retort_migrate::{Migrator, Ops, Revision};
use retort_testkit::for_each_backend;

#[path = "fixtures/migrations/mod.rs"]
mod migrations;

fn run(m: Migrator, args: &[&str]) -> Result<String, retort_core::Error> {
    let mut out = Vec::new();
    m.run_with(["migrate"].iter().chain(args), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn fixture() -> Migrator {
    Migrator::new(migrations::revisions())
}

#[test]
fn online_commands_print_what_alembic_prints() {
    for_each_backend(|db| {
        let url = db.url().render_as_string(false);
        let url = url.as_str();
        let up = run(fixture(), &["--url", url, "upgrade", "+1"]).unwrap();
        assert_eq!(up, "Running upgrade  -> 1a2b3c4d5e6f, create users\n");
        assert_eq!(
            run(fixture(), &["--url", url, "current"]).unwrap(),
            "1a2b3c4d5e6f\n"
        );
        let up = run(fixture(), &["upgrade", "--url", url]).unwrap();
        assert_eq!(
            up,
            "Running upgrade 1a2b3c4d5e6f -> 2b3c4d5e6f70, Add posts; with \"quotes\"\n"
        );
        assert_eq!(
            run(fixture(), &["--url", url, "current"]).unwrap(),
            "2b3c4d5e6f70 (head)\n"
        );
        // `-1` is a target, not an option.
        let down = run(fixture(), &["--url", url, "downgrade", "-1"]).unwrap();
        assert_eq!(
            down,
            "Running downgrade 2b3c4d5e6f70 -> 1a2b3c4d5e6f, Add posts; with \"quotes\"\n"
        );
        let down = run(fixture(), &["--url", url, "downgrade", "base"]).unwrap();
        assert_eq!(down, "Running downgrade 1a2b3c4d5e6f -> , create users\n");
        assert_eq!(run(fixture(), &["--url", url, "current"]).unwrap(), "");
        let stamp = run(fixture(), &["--url", url, "stamp", "head"]).unwrap();
        assert_eq!(stamp, "Running stamp_revision  -> 2b3c4d5e6f70\n");
        assert_eq!(fixture().current(db.engine()).unwrap(), ["2b3c4d5e6f70"]);
    });
}

#[test]
fn history_heads_branches_and_offline_sql() {
    assert_eq!(
        run(fixture(), &["history"]).unwrap(),
        "1a2b3c4d5e6f -> 2b3c4d5e6f70 (head), Add posts; with \"quotes\"\n\
         base -> 1a2b3c4d5e6f, create users\n"
    );
    assert_eq!(
        run(fixture(), &["history", "--verbose"]).unwrap(),
        "Rev: 2b3c4d5e6f70 (head)\nParent: 1a2b3c4d5e6f\n\n    Add posts; with \"quotes\"\n\n\
         Rev: 1a2b3c4d5e6f\nParent: <base>\n\n    create users\n\n"
    );
    assert_eq!(run(fixture(), &["heads"]).unwrap(), "2b3c4d5e6f70 (head)\n");
    assert_eq!(run(fixture(), &["branches"]).unwrap(), "");

    let sql = run(
        fixture(),
        &["upgrade", "1a2b", "--sql", "--dialect", "postgresql"],
    )
    .unwrap();
    assert_eq!(
        sql,
        fixture()
            .upgrade_sql(
                &retort_core::dialect::postgres::PostgresDialect,
                None,
                "1a2b"
            )
            .unwrap()
    );
    assert!(sql.contains("CREATE TABLE \"users\""), "{sql}");
    // The dialect can come from the URL; a downgrade takes FROM:TO.
    let sql = run(
        fixture(),
        &[
            "--url",
            "mysql://root@localhost/x",
            "downgrade",
            "head:base",
            "--sql",
        ],
    )
    .unwrap();
    assert!(
        sql.starts_with("-- Running downgrade 2b3c4d5e6f70 -> 1a2b3c4d5e6f"),
        "{sql}"
    );
    assert!(sql.contains("DROP TABLE `users`;"), "{sql}");

    let e = run(fixture(), &["upgrade", "--sql"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("--sql needs --dialect"), "{e}");
    let e = run(fixture(), &["upgrade", "--sql", "--dialect", "oracle"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown dialect 'oracle'"), "{e}");
    let e = run(fixture(), &["frobnicate"]).unwrap_err().to_string();
    assert!(e.contains("unrecognized subcommand 'frobnicate'"), "{e}");
    let help = run(fixture(), &["--help"]).unwrap();
    assert!(
        help.contains("upgrade") && help.contains("stamp") && help.contains("--url"),
        "{help}"
    );
}

#[test]
fn an_online_command_without_a_url_says_how_to_give_one() {
    if std::env::var_os("DATABASE_URL").is_some() {
        return;
    }
    let e = run(fixture(), &["current"]).unwrap_err().to_string();
    assert!(
        e.contains("no database URL: pass --url or set DATABASE_URL"),
        "{e}"
    );
}

fn nothing(_: &mut Ops) {}

#[test]
fn revision_and_merge_write_files_into_the_folder() {
    let dir = std::env::temp_dir().join(format!("retort_cli_{}", new_revision_id()));
    fs::create_dir_all(&dir).unwrap();
    let folder = |revisions: Vec<Revision>| Migrator::new(revisions).migrations_dir(&dir);

    let out = run(folder(Vec::new()), &["revision", "-m", "create users"]).unwrap();
    assert!(
        out.starts_with("Generating ") && out.ends_with("_create_users.rs ...  done\n"),
        "{out}"
    );
    let mod_rs = fs::read_to_string(dir.join("mod.rs")).unwrap();
    assert_eq!(mod_rs.matches("::REVISION,").count(), 1, "{mod_rs}");
    let first = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with("_create_users.rs"))
        .unwrap();
    let text = fs::read_to_string(dir.join(&first)).unwrap();
    assert!(text.contains("down_revisions: &[],"), "{text}");

    // With two heads, `revision` needs --head; merge joins them.
    let two_heads = vec![
        Revision {
            id: "aaaaaaaaaaaa",
            down_revisions: &[],
            message: "a",
            upgrade: nothing,
            downgrade: nothing,
        },
        Revision {
            id: "bbbbbbbbbbbb",
            down_revisions: &["aaaaaaaaaaaa"],
            message: "b",
            upgrade: nothing,
            downgrade: nothing,
        },
        Revision {
            id: "cccccccccccc",
            down_revisions: &["aaaaaaaaaaaa"],
            message: "c",
            upgrade: nothing,
            downgrade: nothing,
        },
    ];
    assert_eq!(run(folder(two_heads.clone()), &["branches"]).unwrap(),
        "base -> aaaaaaaaaaaa (branchpoint), a\n    -> bbbbbbbbbbbb (head), b\n    -> cccccccccccc (head), c\n");
    let e = run(folder(two_heads.clone()), &["revision", "-m", "next"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("several heads (bbbbbbbbbbbb, cccccccccccc)"),
        "{e}"
    );
    run(
        folder(two_heads.clone()),
        &["revision", "-m", "on b", "--head", "bbbb"],
    )
    .unwrap();
    run(folder(two_heads.clone()), &["merge", "-m", "join", "heads"]).unwrap();
    let files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let text = |suffix: &str| {
        let name = files.iter().find(|n| n.ends_with(suffix)).unwrap();
        fs::read_to_string(dir.join(name)).unwrap()
    };
    assert!(text("_on_b.rs").contains("down_revisions: &[\"bbbbbbbbbbbb\"],"));
    assert!(text("_join.rs").contains("down_revisions: &[\"bbbbbbbbbbbb\", \"cccccccccccc\"],"));
    assert_eq!(
        fs::read_to_string(dir.join("mod.rs"))
            .unwrap()
            .matches("::REVISION,")
            .count(),
        3
    );
    let e = run(folder(two_heads), &["merge", "-m", "alone", "bbbb"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("a merge joins two or more revisions"), "{e}");
    fs::remove_dir_all(dir).unwrap();
}
