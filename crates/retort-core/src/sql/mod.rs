//! The SQL expression language: statements and expressions, and their compiler.

pub mod ast;
pub mod compiler;

pub use compiler::{Compiled, Executable};
