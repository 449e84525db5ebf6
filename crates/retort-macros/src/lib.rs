//! Derive macros for retort's ORM. Use them through the `retort` crate:
//! `use retort::prelude::*;` brings `#[derive(Model)]` into scope.
//!
//! The macro is a thin shim: it parses the struct and its `#[retort(...)]` attributes into a
//! `ModelDef` (in `model.rs`) and prints the trait implementation; everything else lives in plain
//! functions that are easy to read and test.

mod model;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Maps a struct to a table. See the `retort` crate's documentation of `Model` for the
/// attributes it understands.
#[proc_macro_derive(Model, attributes(retort))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::ModelDef::parse(&input) {
        Ok(def) => def.expand().into(),
        Err(err) => err.to_compile_error().into(),
    }
}
