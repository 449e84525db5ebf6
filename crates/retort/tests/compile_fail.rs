//! What must not compile: typed columns compared with values of another type, pattern
//! matching on a non-text column, models the derive cannot map, column constants that clash
//! with the model's own items (the error must point at the field), joins along a
//! relationship that does not start from the query's model (or the path's last model), an ORM
//! stream kept past its session, and `#[retort::test]` misused (`test_attr_*`: an unknown
//! backend, a function of the wrong shape).
//! Each case's compiler message is pinned in `tests/ui/*.stderr` (regenerate with
//! `TRYBUILD=overwrite`).

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
