//! What must not compile: typed columns compared with values of another type, pattern
//! matching on a non-text column, and models the derive cannot map. Each case's compiler
//! message is pinned in `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`).

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
