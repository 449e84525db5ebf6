//! The blog's checked-in migrations on SQLite, PostgreSQL and MariaDB: they bring an empty
//! database to the models (so `check` passes), the models work on the result, rows survive a
//! step down and back up, and `downgrade base` leaves only the version table.

use retort::prelude::*;
use retort_example_blog::{metadata, Post, User};
use retort_migrate::Migrator;
use retort_testkit::for_each_backend;

#[path = "../migrations/mod.rs"]
mod migrations;

fn migrator() -> Migrator {
    Migrator::new(migrations::revisions()).metadata(metadata().unwrap())
}

fn tables(engine: &Engine) -> Vec<String> {
    engine
        .connect()
        .unwrap()
        .inspect()
        .table_names(None)
        .unwrap()
}

/// The CLI's `check` on `url`: its output, or its error.
fn check(url: &str) -> Result<String, String> {
    let mut out = Vec::new();
    match migrator().run_with(["migrate", "--url", url, "check"], &mut out) {
        Ok(()) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn the_migrations_build_the_models_schema_and_undo_it() {
    for_each_backend(|db| {
        let engine = db.engine();
        let url = db.url().render_as_string(false);
        // A database behind the revisions is not compared: upgrade first.
        let refused = check(&url).unwrap_err();
        assert!(refused.contains("run `upgrade heads` first"), "{refused}");

        migrator().upgrade(engine, "head").unwrap();
        assert_eq!(
            migrator().current(engine).unwrap(),
            ["bd45ae2884a5"],
            "{}",
            db.name()
        );
        assert_eq!(
            check(&url),
            Ok("No changes detected: the models and the database agree.\n".to_owned()),
            "{}",
            db.name()
        );

        // The models work on the migrated schema.
        let session = sessionmaker(engine).session();
        let ada = session.add(User {
            name: "Ada".into(),
            email: Some("ada@example.org".into()),
            ..Default::default()
        });
        ada.read()
            .unwrap()
            .posts
            .push_new(Post {
                title: "Engines".into(),
                body: Some("On the analytical engine".into()),
                ..Default::default()
            })
            .unwrap();
        session.commit().unwrap();

        // A step down drops posts.body and keeps every row; a step up brings the column back.
        migrator().downgrade(engine, "-1").unwrap();
        let mut conn = engine.connect().unwrap();
        let titles = conn
            .exec_driver_sql("SELECT title FROM posts", &[])
            .unwrap()
            .scalars::<String>()
            .unwrap();
        assert_eq!(titles, ["Engines"], "{}", db.name());
        assert!(conn.exec_driver_sql("SELECT body FROM posts", &[]).is_err());
        drop(conn);
        migrator().upgrade(engine, "+1").unwrap();
        let names = engine
            .connect()
            .unwrap()
            .exec_driver_sql("SELECT name FROM users", &[])
            .unwrap()
            .scalars::<String>()
            .unwrap();
        assert_eq!(names, ["Ada"], "{}", db.name());

        migrator().downgrade(engine, "base").unwrap();
        assert_eq!(tables(engine), ["retort_version"], "{}", db.name());
        assert!(migrator().current(engine).unwrap().is_empty());
    });
}

#[test]
fn the_offline_script_matches_what_runs() {
    let script = migrator()
        .upgrade_sql(
            &retort::core::dialect::postgres::PostgresDialect,
            None,
            "head",
        )
        .unwrap();
    assert!(script.contains("CREATE TABLE \"posts\""), "{script}");
    assert!(
        script.contains("ALTER TABLE \"posts\" ADD COLUMN \"body\" VARCHAR;"),
        "{script}"
    );
    assert!(
        script.ends_with("COMMIT;\n\n") || script.ends_with("COMMIT;\n"),
        "{script}"
    );
}
