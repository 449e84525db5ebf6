//! The SQL expression language: statements and expressions, and their compiler.

pub mod ast;
pub mod compiler;
pub mod literal;

pub use compiler::{Compiled, Executable};
