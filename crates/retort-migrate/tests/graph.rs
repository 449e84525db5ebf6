//! The revision graph without a database: validation errors, targets, and plans.

use retort_core::Error;
use retort_migrate::{Ops, Revision, RevisionGraph, Target};

fn nothing(_: &mut Ops) {}

fn rev(id: &'static str, down_revisions: &'static [&'static str]) -> Revision {
    Revision {
        id,
        down_revisions,
        message: id,
        upgrade: nothing,
        downgrade: nothing,
    }
}

fn message(result: Result<RevisionGraph, Error>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn ids(plan: Vec<&Revision>) -> Vec<&'static str> {
    plan.into_iter().map(|r| r.id).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// a1 -> b1 -> c1, and a branch b1 -> d1 -> e1 merged with c1 into m1.
fn branched() -> RevisionGraph {
    RevisionGraph::new(vec![
        rev("a1", &[]),
        rev("b1", &["a1"]),
        rev("c1", &["b1"]),
        rev("d1", &["b1"]),
        rev("e1", &["d1"]),
        rev("m1", &["c1", "e1"]),
    ])
    .unwrap()
}

#[test]
fn duplicate_ids_are_named() {
    let e = message(RevisionGraph::new(vec![rev("a1", &[]), rev("a1", &[])]));
    assert!(
        e.contains("revision id a1 is used by more than one revision"),
        "{e}"
    );
}

#[test]
fn a_missing_parent_is_named() {
    let e = message(RevisionGraph::new(vec![rev("a1", &[]), rev("b1", &["zz"])]));
    assert!(
        e.contains("revision b1 follows revision zz, which does not exist"),
        "{e}"
    );
}

#[test]
fn a_cycle_names_its_revisions() {
    let e = message(RevisionGraph::new(vec![
        rev("a1", &[]),
        rev("b1", &["a1", "d1"]),
        rev("c1", &["b1"]),
        rev("d1", &["c1"]),
    ]));
    assert!(e.contains("cycle"), "{e}");
    for id in ["b1", "c1", "d1"] {
        assert!(e.contains(id), "{e}");
    }
    assert!(!e.contains("a1"), "{e}");
    let self_loop = message(RevisionGraph::new(vec![rev("a1", &["a1"])]));
    assert!(self_loop.contains("a1 -> a1"), "{self_loop}");
}

#[test]
fn heads_bases_branch_points_children() {
    let g = branched();
    assert_eq!(g.heads(), ["m1"]);
    assert_eq!(g.bases(), ["a1"]);
    assert_eq!(g.branch_points(), ["b1"]);
    assert_eq!(g.children("b1"), ["c1", "d1"]);
    assert!(g.children("m1").is_empty());
    let two_heads =
        RevisionGraph::new(vec![rev("a1", &[]), rev("b1", &["a1"]), rev("c1", &["a1"])]).unwrap();
    assert_eq!(two_heads.heads(), ["b1", "c1"]);
}

#[test]
fn targets_resolve() {
    let g = RevisionGraph::new(vec![
        rev("3f9a2c", &[]),
        rev("3f8b11", &["3f9a2c"]),
        rev("7c0d00", &["3f8b11"]),
    ])
    .unwrap();
    let one = |id: &'static str| Target::Revisions(vec![id]);
    assert_eq!(g.resolve("head", &[]).unwrap(), one("7c0d00"));
    assert_eq!(g.resolve("heads", &[]).unwrap(), one("7c0d00"));
    assert_eq!(g.resolve("base", &[]).unwrap(), Target::Base);
    assert_eq!(g.resolve("3f9a2c", &[]).unwrap(), one("3f9a2c"));
    assert_eq!(g.resolve("7c", &[]).unwrap(), one("7c0d00"));
    assert_eq!(g.resolve("+1", &[]).unwrap(), one("3f9a2c"));
    assert_eq!(
        g.resolve("+2", &strings(&["3f9a2c"])).unwrap(),
        one("7c0d00")
    );
    assert_eq!(
        g.resolve("-1", &strings(&["7c0d00"])).unwrap(),
        one("3f8b11")
    );
    assert_eq!(
        g.resolve("-1", &strings(&["3f9a2c"])).unwrap(),
        Target::Base
    );

    let ambiguous = g.resolve("3f", &[]).unwrap_err().to_string();
    assert!(
        ambiguous.contains("ambiguous") && ambiguous.contains("3f8b11, 3f9a2c"),
        "{ambiguous}"
    );
    let unknown = g.resolve("abc", &[]).unwrap_err().to_string();
    assert!(unknown.contains("no revision 'abc'"), "{unknown}");
    let past = g
        .resolve("+1", &strings(&["7c0d00"]))
        .unwrap_err()
        .to_string();
    assert!(past.contains("goes past the head 7c0d00"), "{past}");
    let below = g
        .resolve("-2", &strings(&["3f9a2c"]))
        .unwrap_err()
        .to_string();
    assert!(below.contains("below base"), "{below}");
    let bad = g.resolve("+x", &[]).unwrap_err().to_string();
    assert!(bad.contains("'+x' is not a revision target"), "{bad}");
}

#[test]
fn head_with_several_heads_is_an_error_and_relative_steps_at_a_branch_are_ambiguous() {
    let g =
        RevisionGraph::new(vec![rev("a1", &[]), rev("b1", &["a1"]), rev("c1", &["a1"])]).unwrap();
    let e = g.resolve("head", &[]).unwrap_err().to_string();
    assert!(e.contains("several heads (b1, c1)"), "{e}");
    let e = g.resolve("+1", &strings(&["a1"])).unwrap_err().to_string();
    assert!(e.contains("ambiguous at a1: it leads to b1, c1"), "{e}");
    let e = g
        .resolve("-1", &strings(&["b1", "c1"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("several heads (b1, c1)"), "{e}");
}

#[test]
fn a_database_at_an_unknown_revision_is_an_error() {
    let g = branched();
    let e = g
        .upgrade_plan(&strings(&["ffffff"]), "head")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the database is at revision ffffff, which the migrations folder does not have"),
        "{e}"
    );
}

#[test]
fn upgrade_plans_apply_only_what_is_missing_parents_first() {
    let g = branched();
    assert_eq!(
        ids(g.upgrade_plan(&[], "head").unwrap()),
        ["a1", "b1", "c1", "d1", "e1", "m1"]
    );
    assert_eq!(
        ids(g.upgrade_plan(&strings(&["b1"]), "head").unwrap()),
        ["c1", "d1", "e1", "m1"]
    );
    assert_eq!(
        ids(g.upgrade_plan(&strings(&["c1"]), "e1").unwrap()),
        ["d1", "e1"]
    );
    assert_eq!(
        ids(g.upgrade_plan(&strings(&["c1", "e1"]), "heads").unwrap()),
        ["m1"]
    );
    assert!(g
        .upgrade_plan(&strings(&["m1"]), "head")
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(g.upgrade_plan(&strings(&["a1"]), "+1").unwrap()),
        ["b1"]
    );
}

#[test]
fn downgrade_plans_undo_children_first() {
    let g = branched();
    let all = ids(g.downgrade_plan(&strings(&["m1"]), "base").unwrap());
    assert_eq!(all, ["m1", "e1", "d1", "c1", "b1", "a1"]);
    assert_eq!(
        ids(g.downgrade_plan(&strings(&["m1"]), "b1").unwrap()),
        ["m1", "e1", "d1", "c1"]
    );
    // -1 from a merge is ambiguous: it has two parents.
    let e = g
        .downgrade_plan(&strings(&["m1"]), "-1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("ambiguous at m1: it leads to c1, e1"), "{e}");
    // Only the target's own branch comes down.
    assert_eq!(
        ids(g.downgrade_plan(&strings(&["c1", "e1"]), "d1").unwrap()),
        ["e1"]
    );
    let e = g
        .downgrade_plan(&strings(&["c1"]), "e1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("revision e1 is not applied"), "{e}");
}

#[test]
fn history_is_newest_first() {
    let g = branched();
    let order: Vec<&str> = g.history().into_iter().map(|r| r.id).collect();
    assert_eq!(order, ["m1", "e1", "d1", "c1", "b1", "a1"]);
}
