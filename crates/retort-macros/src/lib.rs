//! Derive macros for retort's ORM and the `#[retort::test]` attribute. Use them through the
//! `retort` crate: `use retort::prelude::*;` brings `#[derive(Model)]` into scope.
//!
//! The macro is a thin shim: it parses the struct and its `#[retort(...)]` attributes into a
//! `ModelDef` (in `model.rs`) and prints the trait implementation; everything else lives in plain
//! functions that are easy to read and test.

mod model;
mod test_attr;

use proc_macro::TokenStream;
use syn::parse::Parser;
use syn::{parse_macro_input, DeriveInput, ItemFn};

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

/// Runs a test function on a fresh database per named backend. See the `retort` crate's
/// `testing` module.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemFn);
    let mut test_args = test_attr::TestArgs::default();
    let parser = syn::meta::parser(|meta| test_args.parse_one(meta));
    // On a mistake the function stays, so the error is not followed by others about it.
    let expanded = match parser.parse(args) {
        Ok(()) => test_args.expand(&item),
        Err(err) => Err(err),
    };
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(err) => {
            let err = err.to_compile_error();
            quote::quote!(#err #item).into()
        }
    }
}
