//! Compile-time behaviour of `#[model]`: models that must compile, and every error the macro
//! reports, with the exact message and the token it points at.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
