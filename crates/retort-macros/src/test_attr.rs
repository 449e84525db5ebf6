//! `#[retort::test(...)]`: one `#[test]` per named backend, each running the function on a fresh
//! database through `retort::testing::run`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitBool, Path};

const BACKENDS: [(&str, &str); 3] = [
    ("sqlite", "Sqlite"),
    ("postgres", "Postgres"),
    ("mysql", "MySql"),
];

/// Which tables each test database starts with.
enum Tables {
    /// Every model registered with `Base`.
    Base,
    /// None.
    Empty,
    /// Those of the `MetaData` a function returns.
    Custom(Path),
}

/// The attribute's arguments.
pub struct TestArgs {
    /// The backends named, in order: the name given (`sqlite`, `postgres`, `mysql`), which
    /// names the test, and the `Backend` variant.
    backends: Vec<(Ident, Ident)>,
    tables: Tables,
}

impl Default for TestArgs {
    fn default() -> Self {
        TestArgs {
            backends: Vec::new(),
            tables: Tables::Base,
        }
    }
}

impl TestArgs {
    /// Reads one argument: a backend's name, `tables = <bool>` or `metadata = <path>`.
    pub fn parse_one(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("tables") {
            let keep: LitBool = meta.value()?.parse()?;
            if !keep.value {
                if let Tables::Custom(path) = &self.tables {
                    return Err(contradiction(path.span()));
                }
                self.tables = Tables::Empty;
            }
            return Ok(());
        }
        if meta.path.is_ident("metadata") {
            let path: Path = meta.value()?.parse()?;
            if let Tables::Empty = self.tables {
                return Err(contradiction(path.span()));
            }
            self.tables = Tables::Custom(path);
            return Ok(());
        }
        let Some(ident) = meta.path.get_ident() else {
            return Err(meta.error(EXPECTED));
        };
        if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
            return Err(meta.error(format!("unknown option `{ident}`; {EXPECTED}")));
        }
        let Some((_, variant)) = BACKENDS.iter().find(|(name, _)| ident == name) else {
            return Err(meta.error(format!(
                "unknown backend `{ident}`: expected `sqlite`, `postgres` or `mysql`"
            )));
        };
        if self.backends.iter().any(|(b, _)| b == ident) {
            return Err(meta.error(format!("backend `{ident}` is named twice")));
        }
        let variant = Ident::new(variant, ident.span());
        self.backends.push((ident.clone(), variant));
        Ok(())
    }

    /// The function unchanged, a module of the same name with a `#[test]` per backend (SQLite
    /// when none is named) and, for `metadata = path`, a constant that resolves the path where
    /// it was written.
    pub fn expand(self, item: &ItemFn) -> syn::Result<TokenStream> {
        check_signature(item)?;
        let name = &item.sig.ident;
        let (tables, metadata_const) = match &self.tables {
            Tables::Base => (
                quote!(::core::option::Option::Some(::retort::orm::Base::metadata)),
                None,
            ),
            Tables::Empty => (quote!(::core::option::Option::None), None),
            Tables::Custom(path) => {
                let constant = format_ident!("__retort_test_metadata_of_{}", name);
                let item = quote_spanned! {path.span()=>
                    #[allow(non_upper_case_globals)]
                    const #constant: fn()
                        -> ::retort::Result<::retort::core::schema::MetaData> = #path;
                };
                (
                    quote!(::core::option::Option::Some(super::#constant)),
                    Some(item),
                )
            }
        };
        let mut backends = self.backends;
        if backends.is_empty() {
            let sqlite = |name| Ident::new(name, Span::call_site());
            backends.push((sqlite("sqlite"), sqlite("Sqlite")));
        }
        let tests = backends.iter().map(|(backend, variant)| {
            quote! {
                #[::core::prelude::v1::test]
                fn #backend() -> ::core::result::Result<(), ::retort::testing::TestFailure> {
                    run(::retort::testing::Backend::#variant)
                }
            }
        });
        // The call takes the span of the function's return type, so that a return type `run`
        // cannot judge is reported there.
        let output_span = match &item.sig.output {
            syn::ReturnType::Default => item.sig.ident.span(),
            syn::ReturnType::Type(_, ty) => ty.span(),
        };
        let call = quote_spanned!(output_span=> ::retort::testing::run(backend, #tables, test));
        let path = quote_spanned!(name.span()=> super::#name);
        // Coerced first, so that a wrong argument type is reported against the arguments.
        let test_type =
            quote_spanned!(item.sig.inputs.span()=> fn(::retort::testing::TestDatabase) -> _);
        Ok(quote! {
            #item
            #metadata_const
            mod #name {
                // Compiled in every build (only the `#[test]`s are left out of a plain one),
                // so that a function `run` cannot take is an error there too, and once rather
                // than once per backend.
                #[cfg_attr(not(test), allow(dead_code))]
                fn run(
                    backend: ::retort::testing::Backend,
                ) -> ::core::result::Result<(), ::retort::testing::TestFailure> {
                    let test: #test_type = #path;
                    #call
                }
                #(#tests)*
            }
        })
    }
}

const EXPECTED: &str = "expected backends (`sqlite`, `postgres`, `mysql`), `tables = false` or \
                        `metadata = path::to::fn`";

fn contradiction(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`tables = false` and `metadata = ...` contradict each other: give one",
    )
}

/// The function must be `fn name(db: TestDatabase)`: synchronous, not generic, one argument.
fn check_signature(item: &ItemFn) -> syn::Result<()> {
    let sig = &item.sig;
    if let Some(attr) = item.attrs.iter().find(|a| a.path().is_ident("test")) {
        return Err(syn::Error::new_spanned(
            attr,
            "remove this `#[test]`: #[retort::test] writes the `#[test]` functions, one per \
             backend",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "a #[retort::test] function cannot be `async`: retort's API is blocking, so write a \
             plain `fn`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a #[retort::test] function cannot be generic",
        ));
    }
    let one_typed_argument =
        sig.inputs.len() == 1 && matches!(sig.inputs.first(), Some(syn::FnArg::Typed(_)));
    if !one_typed_argument || sig.variadic.is_some() {
        let message = "a #[retort::test] function takes one argument, its database: \
                       `fn name(db: retort::testing::TestDatabase)`";
        return Err(if sig.inputs.is_empty() {
            syn::Error::new(sig.paren_token.span.join(), message)
        } else {
            syn::Error::new_spanned(&sig.inputs, message)
        });
    }
    Ok(())
}
