//! New objects' INSERTs bind their fields as they are: on SQLite, where a rowid key lets each
//! object go in its own execution of one prepared INSERT, the parameters are borrowed from
//! the objects' fields; elsewhere they go in multi-row INSERTs. Either way every value must
//! arrive exactly, with each key on its own row.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

/// Text, optional text, bytes, an integer and a column with a client-side default.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "notes")]
pub struct Note {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(unique, length = 40)]
    pub title: String,
    #[retort(length = 40)]
    pub subtitle: Option<String>,
    pub body: Vec<u8>,
    pub score: i32,
    #[retort(length = 10, default = "draft")]
    pub status: Option<String>,
}

fn note(
    title: &str,
    subtitle: Option<&str>,
    body: &[u8],
    score: i32,
    status: Option<&str>,
) -> Note {
    Note {
        id: None,
        title: title.to_owned(),
        subtitle: subtitle.map(str::to_owned),
        body: body.to_vec(),
        score,
        status: status.map(str::to_owned),
    }
}

/// Empty text and bytes, NULLs, non-ASCII text, extreme integers; the fifth has its key set,
/// so it goes in a statement of its own between the others'.
fn samples() -> Vec<Note> {
    let mut keyed = note("keyed", None, b"k", 5, None);
    keyed.id = Some(1000);
    vec![
        note("", None, b"", 0, None),
        note(
            "Grüße, 世界 🎉",
            Some(""),
            &[0, 255, 10, 0],
            -7,
            Some("final"),
        ),
        note("it's \"quoted\"", Some("ñ"), b"bytes", i32::MAX, None),
        note("wide", Some(&"x".repeat(40)), &[0; 300], i32::MIN, Some("")),
        keyed,
        note("after", Some("a"), b"", 1, None),
    ]
}

/// The values an INSERT of `note` sends, in column order; its key only when it has one.
fn sent(note: &Note) -> Vec<Value> {
    let mut values: Vec<Value> = note.id.map(Value::Int).into_iter().collect();
    values.extend(stored(note));
    values
}

/// The row `note` must be stored as, but its key: the default stands in for a NULL status.
fn stored(note: &Note) -> Vec<Value> {
    vec![
        txt(&note.title),
        note.subtitle.as_deref().map_or(Value::Null, txt),
        Value::Bytes(note.body.clone()),
        Value::Int(i64::from(note.score)),
        txt(note.status.as_deref().unwrap_or("draft")),
    ]
}

/// Every object has a key of its own, and the row under it holds exactly its values.
fn check_rows(db: &TestDb, checker: &Checker, notes: &[Obj<Note>], expected: &[Note]) {
    let mut ids = Vec::new();
    for (obj, note) in notes.iter().zip(expected) {
        let id = obj.read().unwrap().id.expect("the flush gave the key");
        if let Some(key) = note.id {
            assert_eq!(id, key, "a key set by the application is kept");
        }
        assert_eq!(
            checker.rows(
                db,
                "SELECT title, subtitle, body, score, status FROM notes WHERE id = ?",
                &[Value::Int(id)]
            ),
            vec![stored(note)],
            "the row of {note:?}"
        );
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(
        checker.count(db, "SELECT count(*) FROM notes"),
        expected.len() as i64
    );
}

#[test]
fn new_objects_are_inserted_exactly_as_their_fields_hold_them() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Note>]);
        let checker = Checker::new(db);
        // No listener: on SQLite the parameters are bound from the fields themselves.
        let session = Session::new(db.engine());
        let notes = session.add_all(samples());
        session.commit().unwrap();
        check_rows(db, &checker, &notes, &samples());
        // Read again after the commit, the objects hold what they were added with, their
        // keys, and the default where they left the status NULL.
        for (obj, mut note) in notes.iter().zip(samples()) {
            let held = obj.read().unwrap().clone();
            note.id = held.id;
            note.status.get_or_insert_with(|| "draft".into());
            assert_eq!(held, note);
        }
    });
}

#[test]
fn listeners_see_each_insert_with_its_own_parameters() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Note>]);
        let checker = Checker::new(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let notes = session.add_all(samples());
        session.commit().unwrap();
        let inserts: Vec<Vec<Value>> = capture
            .take_with_params()
            .into_iter()
            .filter(|(sql, _)| kind_of(sql) == "INSERT")
            .map(|(_, params)| params)
            .collect();
        let expected: Vec<Vec<Value>> = samples().iter().map(sent).collect();
        if inserts_one_by_one(db) {
            // One execution per object, each with its own parameters, in order.
            assert_eq!(inserts, expected);
        } else {
            assert_eq!(inserts.concat(), expected.concat());
        }
        check_rows(db, &checker, &notes, &samples());
    });
}

#[test]
fn a_unique_violation_on_the_third_of_five_leaves_the_objects_as_added() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Note>]);
        let checker = Checker::new(db);
        checker.exec(
            db,
            "INSERT INTO notes (title, body, score) VALUES ('n2', ?, 0)",
            &[Value::Bytes(Vec::new())],
        );
        // No listener, so the error's parameters are the only copy made of them.
        let session = Session::new(db.engine());
        let added: Vec<Note> = (0..5)
            .map(|i| note(&format!("n{i}"), None, &[i], i.into(), None))
            .collect();
        let notes = session.add_all(added.clone());
        let err = session.commit().unwrap_err();
        let Error::Integrity(e) = &err else {
            panic!("expected an IntegrityError, got {err:?}")
        };
        // The error carries the parameters the failing INSERT was sent with.
        let params = if inserts_one_by_one(db) {
            sent(&added[2])
        } else {
            added.iter().flat_map(sent).collect()
        };
        assert_eq!(e.params(), Some(&params[..]));
        // The rows inserted before it were rolled back; the objects are as they were added.
        for (obj, note) in notes.iter().zip(&added) {
            assert_eq!(*obj.read().unwrap(), *note);
            assert_eq!(obj.state(), ObjectState::Pending);
        }
        assert_eq!(checker.count(db, "SELECT count(*) FROM notes"), 1);

        session.rollback().unwrap();
        for (obj, note) in notes.iter().zip(&added) {
            assert_eq!(*obj.read().unwrap(), *note);
            assert_eq!(obj.state(), ObjectState::Transient);
        }
        // The session goes on: the collision mended, the same objects go in.
        notes[2].write().unwrap().title = "n2b".into();
        for obj in &notes {
            session.add_obj(obj).unwrap();
        }
        session.commit().unwrap();
        let mut expected = added;
        expected[2].title = "n2b".into();
        for (obj, note) in notes.iter().zip(&expected) {
            let id = obj.read().unwrap().id.expect("a key");
            assert_eq!(
                checker.rows(
                    db,
                    "SELECT title, subtitle, body, score, status FROM notes WHERE id = ?",
                    &[Value::Int(id)]
                ),
                vec![stored(note)]
            );
        }
        assert_eq!(checker.count(db, "SELECT count(*) FROM notes"), 6);
    });
}

#[test]
fn the_derive_borrows_each_column_as_column_value_gives_it() {
    use retort::core::value::ParamRef;

    for note in samples() {
        let mut all = Vec::new();
        note.with_column_params(&mut |params| {
            all = params.iter().map(ParamRef::to_value).collect();
            assert!(matches!(params[1], ParamRef::Text(t) if t == note.title));
            assert!(matches!(params[3], ParamRef::Bytes(b) if b == note.body));
            Ok(())
        })
        .unwrap();
        let columns = Note::mapper().columns().len();
        let values: Vec<Value> = (0..columns).map(|i| note.column_value(i)).collect();
        assert_eq!(all, values);
        for (i, value) in values.iter().enumerate() {
            assert_eq!(&note.column_param(i).to_value(), value);
        }
    }
}
