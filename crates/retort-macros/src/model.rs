//! `#[derive(Model)]`: parsing the struct and printing its `Model` implementation.

use heck::ToSnakeCase;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitStr, Path, PathArguments, Type,
};

/// What the derive learned about one struct.
pub struct ModelDef {
    ident: Ident,
    table: String,
    krate: Path,
    columns: Vec<ColumnDef>,
    relationships: Vec<RelationshipDef>,
    other_fields: Vec<Ident>,
}

/// A relationship field: `Many<T>` or `One<T>` with its options.
struct RelationshipDef {
    field: Ident,
    /// The name of its associated constant (`User::addresses`).
    constant: Ident,
    ty: Type,
    target: Type,
    collection: bool,
    back_populates: Option<LitStr>,
    order_by: Option<LitStr>,
    secondary: Option<LitStr>,
    foreign_keys: Option<LitStr>,
    lazy: Option<Ident>,
    cascade: Option<[bool; 4]>,
    passive_deletes: bool,
    viewonly: bool,
}

impl RelationshipDef {
    /// Reads `relationship(..)` on a field of type `Many<T>` or `One<T>`.
    fn parse(field: Ident, ty: Type, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Self> {
        let (target, collection) =
            match (inner_of(&ty, "Many"), inner_of(&ty, "One")) {
                (Some(t), _) => (t.clone(), true),
                (None, Some(t)) => (t.clone(), false),
                _ => return Err(syn::Error::new_spanned(
                    &ty,
                    "a relationship field must be `Many<T>` (a collection) or `One<T>` (a single \
                     reference)",
                )),
            };
        let mut def = RelationshipDef {
            constant: field.clone(),
            field,
            ty,
            target,
            collection,
            back_populates: None,
            order_by: None,
            secondary: None,
            foreign_keys: None,
            lazy: None,
            cascade: None,
            passive_deletes: false,
            viewonly: false,
        };
        if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
            return Ok(def);
        }
        meta.parse_nested_meta(|option| {
            let key = option
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "back_populates" => def.back_populates = Some(option.value()?.parse()?),
                "order_by" => def.order_by = Some(option.value()?.parse()?),
                "secondary" => def.secondary = Some(option.value()?.parse()?),
                "foreign_keys" => def.foreign_keys = Some(option.value()?.parse()?),
                "lazy" => {
                    let value: LitStr = option.value()?.parse()?;
                    let variant = match value.value().as_str() {
                        "select" => "Select",
                        "joined" => "Joined",
                        "selectin" => "SelectIn",
                        "raise" => "Raise",
                        "noload" => "NoLoad",
                        other => {
                            return Err(syn::Error::new_spanned(
                                &value,
                                format!(
                                    "unknown loader `{other}`; expected select, joined, \
                                     selectin, raise or noload"
                                ),
                            ))
                        }
                    };
                    def.lazy = Some(Ident::new(variant, value.span()));
                }
                "cascade" => {
                    let value: LitStr = option.value()?.parse()?;
                    def.cascade = Some(parse_cascade(&value)?);
                }
                "passive_deletes" => def.passive_deletes = flag(&option)?,
                "viewonly" => def.viewonly = flag(&option)?,
                _ => {
                    return Err(option.error(format!(
                        "unknown relationship option `{key}`; expected one of back_populates, \
                         order_by, secondary, foreign_keys, lazy, cascade, passive_deletes, \
                         viewonly"
                    )))
                }
            }
            Ok(())
        })?;
        Ok(def)
    }
}

/// `passive_deletes` or `passive_deletes = true`.
fn flag(option: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<bool> {
    if option.input.peek(syn::Token![=]) {
        parse_bool(option.value()?)
    } else {
        Ok(true)
    }
}

/// `"all, delete-orphan"` into `[save_update, merge, delete, delete_orphan]`.
fn parse_cascade(value: &LitStr) -> syn::Result<[bool; 4]> {
    let mut flags = [false; 4];
    for word in value
        .value()
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        match word {
            "all" => {
                flags[0] = true;
                flags[1] = true;
                flags[2] = true;
            }
            "save-update" => flags[0] = true,
            "merge" => flags[1] = true,
            "delete" => flags[2] = true,
            "delete-orphan" => flags[3] = true,
            // SQLAlchemy's words for steps the session always takes.
            "refresh-expire" | "expunge" => {}
            other => {
                return Err(syn::Error::new_spanned(
                    value,
                    format!(
                        "unknown cascade `{other}`; expected all, save-update, merge, delete, \
                         delete-orphan, refresh-expire or expunge"
                    ),
                ))
            }
        }
    }
    Ok(flags)
}

/// One mapped field.
struct ColumnDef {
    field: Ident,
    /// The name of its associated constant (`User::name`).
    constant: Ident,
    ty: Type,
    column: String,
    primary_key: bool,
    nullable: Option<bool>,
    sql_type: Option<Expr>,
    length: Option<Expr>,
    default: Option<Expr>,
    server_default: Option<LitStr>,
    unique: bool,
    index: bool,
    foreign_key: Option<LitStr>,
    on_delete: Option<LitStr>,
    on_update: Option<LitStr>,
    autoincrement: Option<bool>,
    version: bool,
}

impl ColumnDef {
    fn new(field: Ident, ty: Type) -> Self {
        let column = unraw(&field);
        ColumnDef {
            constant: field.clone(),
            field,
            ty,
            column,
            primary_key: false,
            nullable: None,
            sql_type: None,
            length: None,
            default: None,
            server_default: None,
            unique: false,
            index: false,
            foreign_key: None,
            on_delete: None,
            on_update: None,
            autoincrement: None,
            version: false,
        }
    }
}

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// The name of a field's associated constant: its `const_name`, else the field's name with the
/// model's `const_suffix`, else the field's name. The constant carries the span of what named
/// it, so that rustc's "duplicate definitions" error for a method or constant of the user's own
/// with the same name points at the field (or at its `const_name`).
fn constant_name(
    field: &Ident,
    const_name: Option<&LitStr>,
    suffix: Option<&LitStr>,
) -> syn::Result<Ident> {
    if let Some(name) = const_name {
        return name.parse::<Ident>().map_err(|_| {
            syn::Error::new_spanned(
                name,
                format!(
                    "`const_name` must be a Rust identifier, not {:?}",
                    name.value()
                ),
            )
        });
    }
    let Some(suffix) = suffix else {
        return Ok(field.clone());
    };
    let name = format!("{}{}", unraw(field), suffix.value());
    match syn::parse_str::<Ident>(&name) {
        Ok(mut ident) => {
            ident.set_span(field.span());
            Ok(ident)
        }
        Err(_) => Err(syn::Error::new_spanned(
            suffix,
            format!(
                "`const_suffix` makes `{name}` for field `{}`, which is not a Rust identifier",
                unraw(field)
            ),
        )),
    }
}

/// Refuses two fields whose constants would share a name, naming both, rather than leaving it
/// to rustc's duplicate-definitions error inside the derive's output.
fn check_distinct_constants<'a>(
    constants: impl Iterator<Item = (&'a Ident, &'a Ident)>,
) -> syn::Result<()> {
    let mut seen: Vec<(String, &Ident)> = Vec::new();
    for (constant, field) in constants {
        let name = unraw(constant);
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == name) {
            return Err(syn::Error::new(
                constant.span(),
                format!(
                    "fields `{}` and `{}` would both get the constant `{name}`; give one of them \
                     another `const_name`",
                    unraw(first),
                    unraw(field)
                ),
            ));
        }
        seen.push((name, field));
    }
    Ok(())
}

/// Whether `ty` is spelled `Option<..>`.
fn is_option(ty: &Type) -> bool {
    inner_of(ty, "Option").is_some()
}

fn inner_of<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

impl ModelDef {
    pub fn parse(input: &DeriveInput) -> syn::Result<ModelDef> {
        if !input.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &input.generics,
                "#[derive(Model)] does not support generic structs",
            ));
        }
        let Data::Struct(data) = &input.data else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(Model)] works on structs with named fields",
            ));
        };
        let Fields::Named(fields) = &data.fields else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(Model)] works on structs with named fields",
            ));
        };

        let mut table = None;
        let mut krate: Path = syn::parse_quote!(::retort);
        let mut const_suffix: Option<LitStr> = None;
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("retort")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("table") {
                    table = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.path.is_ident("crate") {
                    krate = meta.value()?.parse::<LitStr>()?.parse()?;
                } else if meta.path.is_ident("const_suffix") {
                    const_suffix = Some(meta.value()?.parse()?);
                } else {
                    return Err(meta.error(
                        "unknown model attribute; expected `table`, `crate` or `const_suffix`",
                    ));
                }
                Ok(())
            })?;
        }

        let mut columns = Vec::new();
        let mut relationships = Vec::new();
        let mut other_fields = Vec::new();
        for field in &fields.named {
            let Some(ident) = field.ident.clone() else {
                continue;
            };
            let mut col = ColumnDef::new(ident.clone(), field.ty.clone());
            let mut mapped = true;
            let mut const_name: Option<LitStr> = None;
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("retort")) {
                attr.parse_nested_meta(|meta| {
                    let key = meta
                        .path
                        .get_ident()
                        .map(Ident::to_string)
                        .unwrap_or_default();
                    match key.as_str() {
                        "primary_key" => col.primary_key = true,
                        "unique" => col.unique = true,
                        "index" => col.index = true,
                        "version" => col.version = true,
                        "nullable" => col.nullable = Some(true),
                        "not_null" => col.nullable = Some(false),
                        "skip" => mapped = false,
                        "relationship" => {
                            mapped = false;
                            relationships.push(RelationshipDef::parse(
                                ident.clone(),
                                field.ty.clone(),
                                &meta,
                            )?);
                        }
                        "column" => col.column = meta.value()?.parse::<LitStr>()?.value(),
                        "const_name" => const_name = Some(meta.value()?.parse()?),
                        "sql_type" => col.sql_type = Some(meta.value()?.parse()?),
                        "length" => col.length = Some(meta.value()?.parse()?),
                        "default" => col.default = Some(meta.value()?.parse()?),
                        "server_default" => col.server_default = Some(meta.value()?.parse()?),
                        "foreign_key" => col.foreign_key = Some(meta.value()?.parse()?),
                        "on_delete" => col.on_delete = Some(meta.value()?.parse()?),
                        "on_update" => col.on_update = Some(meta.value()?.parse()?),
                        "autoincrement" => {
                            col.autoincrement = Some(parse_bool(meta.value()?)?);
                        }
                        _ => {
                            return Err(meta.error(format!(
                                "unknown field attribute `{key}`; expected one of primary_key, \
                                 column, const_name, sql_type, length, nullable, not_null, \
                                 default, server_default, unique, index, foreign_key, \
                                 on_delete, on_update, autoincrement, version, skip, \
                                 relationship"
                            )))
                        }
                    }
                    Ok(())
                })?;
            }
            let constant = constant_name(&ident, const_name.as_ref(), const_suffix.as_ref())?;
            if mapped {
                col.constant = constant;
                columns.push(col);
            } else if let Some(rel) = relationships.iter_mut().find(|r| r.field == ident) {
                rel.constant = constant;
            } else if let Some(name) = const_name {
                return Err(syn::Error::new_spanned(
                    name,
                    "a skipped field has no constant to name; remove `const_name`",
                ));
            } else {
                other_fields.push(ident);
            }
        }
        check_distinct_constants(
            columns
                .iter()
                .map(|c| (&c.constant, &c.field))
                .chain(relationships.iter().map(|r| (&r.constant, &r.field))),
        )?;
        if columns.is_empty() {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "a model needs at least one column",
            ));
        }
        if !columns.iter().any(|c| c.primary_key) {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "a model needs a primary key: mark a field #[retort(primary_key)]",
            ));
        }
        Ok(ModelDef {
            table: table.unwrap_or_else(|| unraw(&input.ident).to_snake_case()),
            ident: input.ident.clone(),
            krate,
            columns,
            relationships,
            other_fields,
        })
    }

    pub fn expand(&self) -> TokenStream {
        let ident = &self.ident;
        let krate = &self.krate;
        let orm = quote!(#krate::orm);
        let core = quote!(#krate::core);
        let model_name = ident.to_string();
        let table = &self.table;

        let properties = self.columns.iter().map(|c| {
            let field_name = unraw(&c.field);
            let column = &c.column;
            let ty = &c.ty;
            let sql_type = match (&c.sql_type, &c.length) {
                (Some(expr), _) => quote!(#core::types::SqlType::#expr),
                (None, Some(len)) => quote!(#core::types::SqlType::String(Some(#len))),
                (None, None) => quote!(<#ty as #core::types::SqlTyped>::sql_type()),
            };
            let nullable = c.nullable.unwrap_or(!c.primary_key && is_option(ty));
            let mut chain =
                quote!(#orm::ColumnProperty::new(#field_name, #column, #sql_type, #nullable));
            if c.primary_key {
                chain.extend(quote!(.primary_key()));
            }
            if c.unique {
                chain.extend(quote!(.unique()));
            }
            if c.index {
                chain.extend(quote!(.index()));
            }
            if c.version {
                chain.extend(quote!(.version()));
            }
            if let Some(a) = c.autoincrement {
                chain.extend(quote!(.autoincrement(#a)));
            }
            if let Some(d) = &c.default {
                chain.extend(quote!(.default(#core::value::ToValue::to_value(&(#d)))));
            }
            if let Some(d) = &c.server_default {
                chain.extend(quote!(.server_default(#d)));
            }
            if let Some(fk) = &c.foreign_key {
                let on_delete = option_str(&c.on_delete);
                let on_update = option_str(&c.on_update);
                chain.extend(quote!(.foreign_key(#fk, #on_delete, #on_update)));
            }
            chain
        });

        let relationship_props = self.relationships.iter().map(|r| {
            let field_name = unraw(&r.field);
            let target = &r.target;
            let collection = r.collection;
            let mut chain = quote!(#orm::RelationshipProperty::new(
                #field_name,
                <#target as #orm::Model>::mapper,
                #collection,
            ));
            if let Some(v) = &r.back_populates {
                chain.extend(quote!(.back_populates(#v)));
            }
            if let Some(v) = &r.order_by {
                chain.extend(quote!(.order_by(#v)));
            }
            if let Some(v) = &r.secondary {
                chain.extend(quote!(.secondary(#v)));
            }
            if let Some(v) = &r.foreign_keys {
                chain.extend(quote!(.foreign_keys(#v)));
            }
            if let Some(v) = &r.lazy {
                chain.extend(quote!(.lazy(#orm::Lazy::#v)));
            }
            if let Some([save_update, merge, delete, delete_orphan]) = r.cascade {
                chain.extend(quote!(.cascade(#orm::Cascade {
                    save_update: #save_update,
                    merge: #merge,
                    delete: #delete,
                    delete_orphan: #delete_orphan,
                })));
            }
            if r.passive_deletes {
                chain.extend(quote!(.passive_deletes(true)));
            }
            if r.viewonly {
                chain.extend(quote!(.viewonly(true)));
            }
            chain
        });
        let rel_indexes: Vec<usize> = (0..self.relationships.len()).collect();
        let rel_fields: Vec<&Ident> = self.relationships.iter().map(|r| &r.field).collect();
        let rel_constants = self
            .relationships
            .iter()
            .zip(&rel_indexes)
            .map(|(r, index)| {
                let doc = format!(
                    "The `{}` relationship, for loader options, joins and filters.",
                    unraw(&r.field)
                );
                let ty = &r.ty;
                constant(
                    &r.constant,
                    &doc,
                    quote!(#orm::Rel<#ident, #ty>),
                    quote!(#orm::Rel::new(#index)),
                )
            });
        let relationship_fn = if self.relationships.is_empty() {
            quote!()
        } else {
            quote! {
                fn relationship(&self, index: usize) -> ::std::option::Option<#orm::related::RelationRef<'_>> {
                    match index {
                        #(#rel_indexes => ::std::option::Option::Some(self.#rel_fields.as_relation()),)*
                        _ => ::std::option::Option::None,
                    }
                }
            }
        };

        let indexes: Vec<usize> = (0..self.columns.len()).collect();
        let column_count = self.columns.len();
        let fields: Vec<&Ident> = self.columns.iter().map(|c| &c.field).collect();
        let tys: Vec<&Type> = self.columns.iter().map(|c| &c.ty).collect();
        let field_names: Vec<String> = self.columns.iter().map(|c| unraw(&c.field)).collect();
        let others = &self.other_fields;
        let constants = self.columns.iter().zip(&indexes).map(|(c, index)| {
            let doc = format!("The `{}` column, for typed expressions.", unraw(&c.field));
            let ty = &c.ty;
            constant(
                &c.constant,
                &doc,
                quote!(#orm::Attr<#ident, #ty>),
                quote!(#orm::Attr::new(#index)),
            )
        });
        let unknown = LitStr::new(
            &format!("model {model_name} has no column at index {{}}"),
            Span::call_site(),
        );

        quote! {
            impl #orm::Model for #ident {
                fn mapper() -> &'static #orm::Mapper {
                    static MAPPER: ::std::sync::OnceLock<#orm::Mapper> = ::std::sync::OnceLock::new();
                    MAPPER.get_or_init(|| {
                        #orm::Mapper::new::<Self>(#model_name, #table, ::std::vec![#(#properties),*])
                            .with_relationships(::std::vec![#(#relationship_props),*])
                    })
                }

                fn column_value(&self, index: usize) -> #core::value::Value {
                    match index {
                        #(#indexes => #core::value::ToValue::to_value(&self.#fields),)*
                        _ => #core::value::Value::Null,
                    }
                }

                fn column_param(&self, index: usize) -> #core::value::ParamRef<'_> {
                    match index {
                        #(#indexes => #core::value::ToValue::to_param(&self.#fields),)*
                        _ => #core::value::ParamRef::Owned(#core::value::Value::Null),
                    }
                }

                fn with_column_params(
                    &self,
                    f: &mut dyn ::std::ops::FnMut(
                        &mut [#core::value::ParamRef<'_>],
                    ) -> #core::Result<()>,
                ) -> #core::Result<()> {
                    let mut params: [#core::value::ParamRef<'_>; #column_count] =
                        [#(#core::value::ToValue::to_param(&self.#fields)),*];
                    f(&mut params)
                }

                fn set_column_value(
                    &mut self,
                    index: usize,
                    value: #core::value::Value,
                ) -> #core::Result<()> {
                    match index {
                        #(#indexes => {
                            self.#fields = <#tys as #core::value::FromValue>::from_value(value)
                                .map_err(|e| e.in_field(#model_name, #field_names))?;
                        })*
                        _ => return ::std::result::Result::Err(#core::Error::Argument(
                            ::std::format!(#unknown, index),
                        )),
                    }
                    ::std::result::Result::Ok(())
                }

                fn from_row(
                    row: &mut dyn #core::engine::driver::DriverRow,
                    offset: usize,
                ) -> #core::Result<Self> {
                    ::std::result::Result::Ok(#ident {
                        #(#fields: <#tys as #core::value::FromValue>::from_driver(
                                row,
                                offset + #indexes,
                            )
                            .map_err(|e| e.in_field(#model_name, #field_names))?,)*
                        #(#others: ::std::default::Default::default(),)*
                        #(#rel_fields: ::std::default::Default::default(),)*
                    })
                }

                #relationship_fn
            }

            #orm::__inventory::submit! {
                #orm::ModelRegistration::new::<#ident>()
            }

            #[allow(non_upper_case_globals)]
            impl #ident {
                #(#constants)*
                #(#rel_constants)*
            }
        }
    }
}

/// An associated constant, placed at the field (or `const_name`) that named it but marked as
/// the derive's output: rustc's error for a clash with an item of the user's own then points
/// at the field and adds that the derive macro `Model` made the constant.
fn constant(name: &Ident, doc: &str, ty: TokenStream, value: TokenStream) -> TokenStream {
    let span = Span::call_site().located_at(name.span());
    let mut name = name.clone();
    name.set_span(span);
    quote_spanned! {span=>
        #[doc = #doc]
        pub const #name: #ty = #value;
    }
}

fn option_str(s: &Option<LitStr>) -> TokenStream {
    match s {
        Some(s) => quote!(::std::option::Option::Some(#s)),
        None => quote!(::std::option::Option::None),
    }
}

fn parse_bool(input: ParseStream<'_>) -> syn::Result<bool> {
    Ok(input.parse::<syn::LitBool>()?.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: DeriveInput) -> Result<ModelDef, String> {
        ModelDef::parse(&input).map_err(|e| e.to_string())
    }

    #[test]
    fn table_names_default_to_snake_case() {
        for (name, table) in [
            ("User", "user"),
            ("UserAccount", "user_account"),
            ("HTTPServer", "http_server"),
            ("XmlHTTPRequest", "xml_http_request"),
            ("User2FA", "user2_fa"),
        ] {
            let ident = Ident::new(name, Span::call_site());
            let def = parse(syn::parse_quote! {
                struct #ident { #[retort(primary_key)] id: i64 }
            });
            assert_eq!(def.map(|d| d.table).as_deref(), Ok(table), "{name}");
        }
    }

    #[test]
    fn a_table_attribute_wins_over_the_default_name() {
        let def = parse(syn::parse_quote! {
            #[retort(table = "servers")]
            struct HTTPServer { #[retort(primary_key)] id: i64 }
        });
        assert_eq!(def.map(|d| d.table).as_deref(), Ok("servers"));
    }

    fn constants(def: &ModelDef) -> Vec<String> {
        def.columns
            .iter()
            .map(|c| c.constant.to_string())
            .chain(def.relationships.iter().map(|r| r.constant.to_string()))
            .collect()
    }

    #[test]
    fn const_name_renames_a_fields_constant() {
        let def = parse(syn::parse_quote! {
            struct User {
                #[retort(primary_key)] id: i64,
                #[retort(const_name = "name_col")] name: String,
                #[retort(relationship, const_name = "addresses_rel")] addresses: Many<Address>,
                r#type: String,
            }
        });
        assert_eq!(
            def.as_ref().map(constants),
            Ok(vec![
                "id".to_owned(),
                "name_col".to_owned(),
                "r#type".to_owned(),
                "addresses_rel".to_owned()
            ])
        );
    }

    #[test]
    fn const_suffix_renames_every_constant_but_a_const_name() {
        let def = parse(syn::parse_quote! {
            #[retort(const_suffix = "_col")]
            struct User {
                #[retort(primary_key)] id: i64,
                #[retort(const_name = "label")] name: String,
                #[retort(relationship)] addresses: Many<Address>,
                r#type: String,
            }
        });
        assert_eq!(
            def.as_ref().map(constants),
            Ok(vec![
                "id_col".to_owned(),
                "label".to_owned(),
                "type_col".to_owned(),
                "addresses_col".to_owned()
            ])
        );
    }

    #[test]
    fn constant_names_that_cannot_be_are_refused() {
        let err = parse(syn::parse_quote! {
            struct User { #[retort(primary_key, const_name = "not an ident")] id: i64 }
        });
        assert_eq!(
            err.err().as_deref(),
            Some("`const_name` must be a Rust identifier, not \"not an ident\"")
        );
        let err = parse(syn::parse_quote! {
            #[retort(const_suffix = "-x")]
            struct User { #[retort(primary_key)] id: i64 }
        });
        assert_eq!(
            err.err().as_deref(),
            Some("`const_suffix` makes `id-x` for field `id`, which is not a Rust identifier")
        );
        let err = parse(syn::parse_quote! {
            struct User {
                #[retort(primary_key)] id: i64,
                #[retort(skip, const_name = "cache_col")] cache: String,
            }
        });
        assert_eq!(
            err.err().as_deref(),
            Some("a skipped field has no constant to name; remove `const_name`")
        );
    }

    #[test]
    fn two_fields_with_one_constant_name_are_refused() {
        let err = parse(syn::parse_quote! {
            struct User {
                #[retort(primary_key)] id: i64,
                name: String,
                #[retort(const_name = "name")] nickname: String,
            }
        });
        assert_eq!(
            err.err().as_deref(),
            Some(
                "fields `name` and `nickname` would both get the constant `name`; give one of \
                 them another `const_name`"
            )
        );
    }

    #[test]
    fn option_detection() {
        let t: Type = syn::parse_quote!(Option<i64>);
        assert!(is_option(&t));
        let t: Type = syn::parse_quote!(std::option::Option<String>);
        assert!(is_option(&t));
        let t: Type = syn::parse_quote!(i64);
        assert!(!is_option(&t));
    }

    #[test]
    fn a_model_without_primary_key_is_refused() {
        let input: DeriveInput = syn::parse_quote! {
            struct NoKey { name: String }
        };
        let err = ModelDef::parse(&input).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("primary key"));
    }

    #[test]
    fn unknown_attributes_are_named() {
        let input: DeriveInput = syn::parse_quote! {
            struct M { #[retort(primary_key, colour = "red")] id: Option<i64> }
        };
        let err = ModelDef::parse(&input).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("colour"));
    }
}
