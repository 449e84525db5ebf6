//! URL parsing: every accepted form, percent-decoding, errors that name the problem, and the
//! password hidden from display.

use retort_core::{create_engine, Error, Url};

fn url_error(url: &str) -> String {
    match Url::parse(url) {
        Err(Error::Url(msg)) => msg,
        other => panic!("expected Error::Url for {url:?}, got {other:?}"),
    }
}

#[test]
fn sqlite_forms() {
    let rel = Url::parse("sqlite:///relative.db").unwrap();
    assert_eq!(rel.drivername(), "sqlite");
    assert_eq!(rel.database(), Some("relative.db"));
    assert_eq!(rel.host(), None);

    let abs = Url::parse("sqlite:////absolute/path.db").unwrap();
    assert_eq!(abs.database(), Some("/absolute/path.db"));

    assert_eq!(Url::parse("sqlite://").unwrap().database(), None);
    assert_eq!(
        Url::parse("sqlite:///:memory:").unwrap().database(),
        Some(":memory:")
    );

    // An '@' in a path is not user information.
    let at = Url::parse("sqlite:////data/a@b.db").unwrap();
    assert_eq!(at.username(), None);
    assert_eq!(at.database(), Some("/data/a@b.db"));

    let with_timeout = Url::parse("sqlite:///app.db?timeout=2.5").unwrap();
    assert_eq!(with_timeout.query_value("timeout"), Some("2.5"));
}

#[test]
fn server_forms() {
    for scheme in ["postgresql", "postgres", "mysql", "mariadb"] {
        let url = Url::parse(&format!("{scheme}://scott:tiger@db.example:6543/app")).unwrap();
        assert_eq!(url.drivername(), scheme);
        assert_eq!(url.username(), Some("scott"));
        assert_eq!(url.password(), Some("tiger"));
        assert_eq!(url.host(), Some("db.example"));
        assert_eq!(url.port(), Some(6543));
        assert_eq!(url.database(), Some("app"));
    }

    let minimal = Url::parse("postgresql://localhost").unwrap();
    assert_eq!(
        (
            minimal.username(),
            minimal.password(),
            minimal.port(),
            minimal.database()
        ),
        (None, None, None, None)
    );
    assert_eq!(minimal.host(), Some("localhost"));

    let user_only = Url::parse("mysql://root@127.0.0.1/test").unwrap();
    assert_eq!(user_only.username(), Some("root"));
    assert_eq!(user_only.password(), None);

    let empty_password = Url::parse("mysql://root:@127.0.0.1/test").unwrap();
    assert_eq!(empty_password.password(), Some(""));

    let v6 = Url::parse("postgresql://u@[::1]:5433/db").unwrap();
    assert_eq!(v6.host(), Some("::1"));
    assert_eq!(v6.port(), Some(5433));
}

#[test]
fn percent_decoding() {
    let url = Url::parse("postgresql://us%3Aer:p%40ss%2Fw%3Ard%25@h/my%20db?options=-csearch_path%3Dfoo&connect_timeout=10")
        .unwrap();
    assert_eq!(url.username(), Some("us:er"));
    assert_eq!(url.password(), Some("p@ss/w:rd%"));
    assert_eq!(url.database(), Some("my db"));
    assert_eq!(url.query_value("options"), Some("-csearch_path=foo"));
    assert_eq!(url.query_value("connect_timeout"), Some("10"));
    assert_eq!(
        url.query(),
        &[
            ("options".to_string(), "-csearch_path=foo".to_string()),
            ("connect_timeout".to_string(), "10".to_string())
        ]
    );

    // Unicode survives, and a '/' in an unencoded password is tolerated.
    let url = Url::parse("mysql://ü:pa/ss@h/d").unwrap();
    assert_eq!(url.username(), Some("ü"));
    assert_eq!(url.password(), Some("pa/ss"));
}

#[test]
fn password_is_hidden_in_display_and_debug() {
    let url = Url::parse("postgresql://scott:s3cr%40t@h:5432/db?sslmode=disable").unwrap();
    let shown = url.to_string();
    assert_eq!(shown, "postgresql://scott:***@h:5432/db?sslmode=disable");
    assert!(!format!("{url:?}").contains("s3cr"));
    // The full rendering parses back to the same URL.
    let full = url.render_as_string(false);
    assert_eq!(
        full,
        "postgresql://scott:s3cr%40t@h:5432/db?sslmode=disable"
    );
    assert_eq!(Url::parse(&full).unwrap(), url);
}

#[test]
fn rendering_round_trips() {
    for s in [
        "sqlite://",
        "sqlite:///relative.db",
        "sqlite:////abs/path.db",
        "sqlite:///:memory:",
        "mysql://root@127.0.0.1:3306/test",
        "postgresql://u:p@[::1]:5433/db?options=-csearch_path%3Dx",
    ] {
        let url = Url::parse(s).unwrap();
        assert_eq!(
            Url::parse(&url.render_as_string(false)).unwrap(),
            url,
            "{s}"
        );
    }
    assert_eq!(
        Url::parse("sqlite:////tmp/a b.db")
            .unwrap()
            .render_as_string(false),
        "sqlite:////tmp/a%20b.db"
    );
}

#[test]
fn editing() {
    let url = Url::parse("postgresql://u@h/db?options=x&a=1").unwrap();
    let edited = url
        .clone()
        .with_database(Some("other"))
        .with_query_value("options", "-csearch_path=s")
        .without_query_value("a");
    assert_eq!(edited.database(), Some("other"));
    assert_eq!(edited.query_value("options"), Some("-csearch_path=s"));
    assert_eq!(edited.query_value("a"), None);
    assert_eq!(edited.query().len(), 1);
}

#[test]
fn malformed_urls_name_the_problem() {
    assert!(url_error("postgresql:/host/db").contains("'://'"));
    assert!(url_error("no scheme here").contains("'://'"));
    assert!(url_error("://host/db").contains("valid database name"));
    assert!(url_error("post gres://h/db").contains("valid database name"));
    assert!(url_error("postgresql://u@h:port/db").contains("invalid port 'port'"));
    assert!(url_error("postgresql://u@h:99999/db").contains("invalid port '99999'"));
    let pw = url_error("postgresql://u:bad%zzpw@h/db");
    assert!(
        pw.contains("percent-encoding") && pw.contains("password"),
        "{pw}"
    );
    // The message must not leak the password itself.
    assert!(!pw.contains("bad%zzpw"));
    assert!(url_error("mysql://h/db?novalue").contains("query option 'novalue'"));
    assert!(url_error("postgresql://u@[::1/db").contains("'['"));
    assert!(url_error("postgresql://u@h/db%FF").contains("UTF-8"));
}

#[test]
fn unknown_scheme_is_rejected_by_create_engine() {
    match create_engine("oracle://scott:tiger@h/db") {
        Err(Error::Url(msg)) => {
            assert!(msg.contains("unknown database 'oracle'"), "{msg}");
            assert!(msg.contains("postgresql"), "{msg}");
        }
        other => panic!("expected Error::Url, got {other:?}"),
    }
    // Parsing errors come through create_engine too.
    assert!(matches!(
        create_engine("postgresql://h:x/db"),
        Err(Error::Url(_))
    ));
}

#[test]
fn dialect_follows_the_scheme() {
    let cases = [
        ("sqlite://", "sqlite"),
        ("postgresql://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
        ("mysql://u@h/db", "mysql"),
        ("mariadb://u@h/db", "mysql"),
    ];
    for (url, name) in cases {
        let engine = create_engine(url).unwrap();
        assert_eq!(engine.dialect().name(), name, "{url}");
    }
    // mariadb:// says MariaDB up front: RETURNING on INSERT is available.
    let maria = create_engine("mariadb://u@h/db").unwrap();
    assert!(maria.dialect().capabilities().insert_returning);
    let mysql = create_engine("mysql://u@h/db").unwrap();
    assert!(!mysql.dialect().capabilities().insert_returning);
}

#[test]
fn sqlite_url_with_host_or_unknown_option_fails_on_connect() {
    let with_host = create_engine("sqlite://somehost/x.db").unwrap();
    assert!(matches!(with_host.connect(), Err(Error::Url(m)) if m.contains("no host")));
    let bad_option = create_engine("sqlite://?journal=wal").unwrap();
    assert!(matches!(bad_option.connect(), Err(Error::Url(m)) if m.contains("'journal'")));
}
