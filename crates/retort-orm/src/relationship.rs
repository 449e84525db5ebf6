//! Relationships between models: what `#[retort(relationship(..))]` declares
//! ([`RelationshipProperty`]), and what the configure step resolves it to
//! ([`Relationship`]): the direction, the columns that join the two sides, the association
//! table of a many-to-many, and the partner named by `back_populates`.
//!
//! Configuration happens once per model, on first use (the first query, flush or access that
//! needs it, or [`Base::registry`](crate::Base::registry)); a relationship that cannot be
//! resolved is an error naming the model and the field.

use std::sync::Arc;

use retort_core::schema::{MetaData, Table};
use retort_core::{Error, Result};

use crate::mapper::Mapper;

/// How a relationship loads when nothing else is asked: `lazy = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lazy {
    /// `"select"` (the default): the first access runs one SELECT.
    Select,
    /// `"joined"`: loaded with its parents, through a LEFT OUTER JOIN in their query.
    Joined,
    /// `"selectin"`: loaded for all parents of a query at once, with `IN (parent keys)`.
    SelectIn,
    /// `"raise"`: access without an eager load is an error (no SQL is sent).
    Raise,
    /// `"noload"`: never loaded; reads as empty.
    NoLoad,
}

/// The cascades of a relationship: which session operations on the parent also apply to the
/// related objects (`cascade = "all, delete-orphan"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cascade {
    /// Adding the parent adds the related objects (on by default).
    pub save_update: bool,
    /// Merging the parent merges the related objects (on by default).
    pub merge: bool,
    /// Deleting the parent deletes the related objects.
    pub delete: bool,
    /// A related object removed from the parent is deleted.
    pub delete_orphan: bool,
}

impl Default for Cascade {
    /// SQLAlchemy's default, `"save-update, merge"`.
    fn default() -> Self {
        Cascade {
            save_update: true,
            merge: true,
            delete: false,
            delete_orphan: false,
        }
    }
}

/// A relationship as a model declares it: the field, the target model and the options.
#[derive(Debug, Clone)]
pub struct RelationshipProperty {
    /// The Rust field's name.
    pub field: &'static str,
    /// The related model's mapper.
    pub target: fn() -> &'static Mapper,
    /// A collection (`Many<T>`) rather than a single reference (`One<T>`).
    pub collection: bool,
    /// The relationship on the target that mirrors this one.
    pub back_populates: Option<&'static str>,
    /// The order of a collection: target columns, each with `true` for descending.
    pub order_by: Vec<(&'static str, bool)>,
    /// The association table of a many-to-many.
    pub secondary: Option<&'static str>,
    /// The foreign key columns to join on, where several paths exist.
    pub foreign_keys: Vec<&'static str>,
    /// The default loader.
    pub lazy: Lazy,
    /// The cascades.
    pub cascade: Cascade,
    /// Leave deleting (or un-linking) the children of a deleted parent to the database's
    /// `ON DELETE`, rather than loading them.
    pub passive_deletes: bool,
    /// Only for loading: changes to it are not flushed.
    pub viewonly: bool,
}

impl RelationshipProperty {
    /// A relationship from `field` to the model whose mapper `target` gives.
    pub fn new(field: &'static str, target: fn() -> &'static Mapper, collection: bool) -> Self {
        RelationshipProperty {
            field,
            target,
            collection,
            back_populates: None,
            order_by: Vec::new(),
            secondary: None,
            foreign_keys: Vec::new(),
            lazy: Lazy::Select,
            cascade: Cascade::default(),
            passive_deletes: false,
            viewonly: false,
        }
    }

    /// Sets `back_populates`.
    pub fn back_populates(mut self, field: &'static str) -> Self {
        self.back_populates = Some(field);
        self
    }

    /// Orders the collection by a target column (`"id"`, `"id desc"`; a comma-separated list
    /// for several).
    pub fn order_by(mut self, spec: &'static str) -> Self {
        for term in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let mut words = term.split_whitespace();
            let column = words.next().unwrap_or(term);
            let desc = words.next().is_some_and(|w| w.eq_ignore_ascii_case("desc"));
            self.order_by.push((column, desc));
        }
        self
    }

    /// Names the association table of a many-to-many.
    pub fn secondary(mut self, table: &'static str) -> Self {
        self.secondary = Some(table);
        self
    }

    /// The foreign key column(s) to join on (comma-separated), for ambiguous paths.
    pub fn foreign_keys(mut self, columns: &'static str) -> Self {
        self.foreign_keys = columns
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        self
    }

    /// Sets the default loader.
    pub fn lazy(mut self, lazy: Lazy) -> Self {
        self.lazy = lazy;
        self
    }

    /// Sets the cascades.
    pub fn cascade(mut self, cascade: Cascade) -> Self {
        self.cascade = cascade;
        self
    }

    /// Sets `passive_deletes`.
    pub fn passive_deletes(mut self, on: bool) -> Self {
        self.passive_deletes = on;
        self
    }

    /// Sets `viewonly`.
    pub fn viewonly(mut self, on: bool) -> Self {
        self.viewonly = on;
        self
    }
}

/// Which way a relationship points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The target's foreign key refers to this model (`User.addresses`); a `One<T>` here is a
    /// one-to-one.
    OneToMany,
    /// This model's foreign key refers to the target (`Address.user`).
    ManyToOne,
    /// Through an association table.
    ManyToMany,
}

/// The association table of a many-to-many, and how its columns meet each side.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// The table.
    pub table: Table,
    /// `(association column, column index of the owner)` pairs.
    pub owner: Vec<(Arc<str>, usize)>,
    /// `(association column, column index of the target)` pairs.
    pub target: Vec<(Arc<str>, usize)>,
}

/// A relationship after configuration.
#[derive(Debug, Clone)]
pub struct Relationship {
    /// Its position among the model's relationships.
    pub index: usize,
    /// The Rust field's name.
    pub field: &'static str,
    /// The model it belongs to.
    pub owner: &'static Mapper,
    /// The related model.
    pub target: &'static Mapper,
    /// A collection (`Many<T>`).
    pub collection: bool,
    /// Which way it points.
    pub direction: Direction,
    /// For one-to-many and many-to-one: `(owner column, target column)` pairs that are equal
    /// between related rows (the foreign key and the column it refers to).
    pub pairs: Vec<(usize, usize)>,
    /// For many-to-many: the association table.
    pub secondary: Option<Secondary>,
    /// The position, among the target's relationships, of the one that mirrors this one:
    /// named by `back_populates`, else found by the same columns the other way round.
    pub reverse: Option<usize>,
    /// Whether `back_populates` names the reverse, so both sides are kept in step in memory.
    pub back_populates: bool,
    /// ORDER BY of a collection: target column positions, `true` for descending.
    pub order_by: Vec<(usize, bool)>,
    /// The default loader.
    pub lazy: Lazy,
    /// The cascades.
    pub cascade: Cascade,
    /// See [`RelationshipProperty::passive_deletes`].
    pub passive_deletes: bool,
    /// See [`RelationshipProperty::viewonly`].
    pub viewonly: bool,
}

impl Relationship {
    /// `Model.field`, for messages.
    pub fn describe(&self) -> String {
        format!("{}.{}", self.owner.model_name(), self.field)
    }
}

/// An association table: a plain table of foreign keys, declared with
/// [`association_table!`](crate::association_table) and named by a many-to-many's `secondary`.
#[derive(Debug)]
pub struct AssociationTable {
    name: &'static str,
    columns: &'static [AssociationColumn],
}

/// One column of an [`AssociationTable`].
#[derive(Debug)]
pub struct AssociationColumn {
    name: &'static str,
    sql_type: fn() -> retort_core::types::SqlType,
    references: &'static str,
}

impl AssociationColumn {
    /// The column `name` of type `sql_type` referring to `"table.column"`.
    pub const fn new(
        name: &'static str,
        sql_type: fn() -> retort_core::types::SqlType,
        references: &'static str,
    ) -> Self {
        AssociationColumn {
            name,
            sql_type,
            references,
        }
    }
}

impl AssociationTable {
    /// The table `name` with `columns`; every column is NOT NULL and part of the primary key,
    /// so a pair is linked at most once.
    pub const fn new(name: &'static str, columns: &'static [AssociationColumn]) -> Self {
        AssociationTable { name, columns }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Builds the table into `metadata` (or returns the one of that name already there).
    pub fn table(&self, metadata: &MetaData) -> Result<Table> {
        if let Some(table) = metadata.table(self.name) {
            return Ok(table);
        }
        let mut builder = Table::new(self.name, metadata);
        for column in self.columns {
            builder = builder.column(
                retort_core::schema::Column::new(column.name, (column.sql_type)())
                    .primary_key()
                    .autoincrement(false)
                    .foreign_key(column.references),
            );
        }
        builder.build()
    }
}

/// An association table's entry in the program-wide registry; `association_table!` submits
/// one.
pub struct TableRegistration {
    pub(crate) table: &'static AssociationTable,
}

impl TableRegistration {
    /// The registration of `table`.
    pub const fn new(table: &'static AssociationTable) -> Self {
        TableRegistration { table }
    }
}

inventory::collect!(TableRegistration);

/// The association table registered under `name`.
pub(crate) fn association_table(name: &str) -> Option<&'static AssociationTable> {
    inventory::iter::<TableRegistration>()
        .map(|r| r.table)
        .find(|t| t.name == name)
}

/// Declares an association table for many-to-many relationships — the seed's
/// `Table('association', Base.metadata, Column('left_id', ForeignKey('left.id')), ...)`.
///
/// Each column is `name: RustType => "table.column"`. The table joins `Base`'s metadata (so
/// `create_all` creates it after the tables it refers to), and a relationship names it with
/// `secondary = "association"`.
///
/// ```
/// retort_orm::association_table! {
///     /// Links `left` and `right` rows.
///     pub static ASSOCIATION = "association" {
///         left_id: i64 => "left.id",
///         right_id: i64 => "right.id",
///     }
/// }
/// assert_eq!(ASSOCIATION.name(), "association");
/// ```
#[macro_export]
macro_rules! association_table {
    ($(#[$meta:meta])* $vis:vis static $ident:ident = $name:literal {
        $($column:ident : $ty:ty => $references:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        $vis static $ident: $crate::relationship::AssociationTable =
            $crate::relationship::AssociationTable::new($name, &[$(
                $crate::relationship::AssociationColumn::new(
                    ::std::stringify!($column),
                    <$ty as $crate::__core::types::SqlTyped>::sql_type,
                    $references,
                ),
            )+]);
        $crate::__inventory::submit! {
            $crate::relationship::TableRegistration::new(&$ident)
        }
    };
}

/// The `(table, column)` a mapped column's foreign key refers to, as the Core table parsed it.
fn fk_target(table: &Table, mapper: &Mapper, index: usize) -> Option<(String, String)> {
    let fk = table
        .column(mapper.columns()[index].name)?
        .foreign_keys()
        .first()?;
    Some((
        fk.referred_table().to_owned(),
        fk.referred_column().to_owned(),
    ))
}

fn configure_error(owner: &Mapper, field: &str, message: impl std::fmt::Display) -> Error {
    Error::Argument(format!(
        "relationship {}.{field}: {message}",
        owner.model_name()
    ))
}

/// `(from column, to column)` pairs: the columns of `from` whose foreign keys refer to
/// `to`'s table, each with the column of `to` it refers to.
fn fk_columns(from: &Mapper, to: &Mapper, only: &[&str]) -> Result<Vec<(usize, usize)>> {
    let table = from.table()?;
    Ok((0..from.columns().len())
        .filter(|&i| only.is_empty() || only.contains(&from.columns()[i].name))
        .filter_map(|i| {
            let (referred, column) = fk_target(&table, from, i)?;
            if referred != to.table_name() {
                return None;
            }
            Some((i, to.column_index(&column)?))
        })
        .collect())
}

/// Whether `pairs` form one join path: a single column, or one column per primary-key column
/// of the referred side (a composite key).
fn one_path(pairs: &[(usize, usize)], referred: &Mapper) -> bool {
    match pairs.len() {
        0 => false,
        1 => true,
        n => {
            let mut referred_columns: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            referred_columns.sort_unstable();
            referred_columns.dedup();
            let mut pk = referred.primary_key().to_vec();
            pk.sort_unstable();
            referred_columns.len() == n && referred_columns == pk
        }
    }
}

/// Resolves the relationships `owner` declares. Every error names the model and field.
pub(crate) fn configure(owner: &'static Mapper) -> Result<Vec<Relationship>> {
    let mut resolved = Vec::with_capacity(owner.relationship_properties().len());
    for (index, property) in owner.relationship_properties().iter().enumerate() {
        resolved.push(configure_one(owner, index, property)?);
    }
    for rel in &mut resolved {
        rel.reverse = find_reverse(rel)?;
    }
    Ok(resolved)
}

fn configure_one(
    owner: &'static Mapper,
    index: usize,
    property: &RelationshipProperty,
) -> Result<Relationship> {
    let field = property.field;
    let target = (property.target)();
    let err = |message: String| configure_error(owner, field, message);
    let only: Vec<&str> = property
        .foreign_keys
        .iter()
        .map(|c| c.rsplit_once('.').map_or(*c, |(_, c)| c))
        .collect();
    let mut order_by = Vec::with_capacity(property.order_by.len());
    for (column, desc) in &property.order_by {
        let at = target.column_index(column).ok_or_else(|| {
            err(format!(
                "order_by names `{column}`, which is not a column of {}",
                target.model_name()
            ))
        })?;
        order_by.push((at, *desc));
    }
    let (direction, pairs, secondary) = if let Some(name) = property.secondary {
        let table = association_table(name)
            .ok_or_else(|| {
                err(format!(
                    "secondary names `{name}`, but no association table of that name is \
                     declared (declare it with association_table!)"
                ))
            })?
            .table(&MetaData::new())?;
        let side = |mapper: &Mapper| -> Vec<(Arc<str>, usize)> {
            table
                .columns()
                .iter()
                .filter_map(|c| {
                    let fk = c.foreign_keys().first()?;
                    if fk.referred_table() != mapper.table_name() {
                        return None;
                    }
                    let at = mapper.column_index(fk.referred_column())?;
                    Some((Arc::from(c.name()), at))
                })
                .collect()
        };
        let (owner_side, target_side) = if std::ptr::eq(owner, target) {
            // Both keys refer to the same table: `foreign_keys` names the owner's side
            // (`follower_id` for "the users I follow"), and the other column is the target's.
            let all: Vec<(Arc<str>, usize)> = table
                .columns()
                .iter()
                .filter_map(|c| {
                    let fk = c.foreign_keys().first()?;
                    if fk.referred_table() != owner.table_name() {
                        return None;
                    }
                    Some((
                        Arc::from(c.name()),
                        owner.column_index(fk.referred_column())?,
                    ))
                })
                .collect();
            let (mine, theirs): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|(c, _)| only.contains(&&**c));
            if only.is_empty() || mine.is_empty() || theirs.is_empty() {
                return Err(err(format!(
                    "a self-referential many-to-many through `{name}` must name the \
                     association column that refers to the owner, with foreign_keys = \"...\""
                )));
            }
            (mine, theirs)
        } else {
            (side(owner), side(target))
        };
        if owner_side.is_empty() || target_side.is_empty() {
            return Err(err(format!(
                "the association table `{name}` needs a foreign key to both `{}` and `{}`",
                owner.table_name(),
                target.table_name()
            )));
        }
        let secondary = Secondary {
            table,
            owner: owner_side,
            target: target_side,
        };
        (Direction::ManyToMany, Vec::new(), Some(secondary))
    } else {
        // Foreign keys of the target that refer to the owner (one-to-many), and of the owner
        // that refer to the target (many-to-one). A self-referential model has the same
        // columns both ways; `Many` then means the children, `One` the parent.
        let incoming: Vec<(usize, usize)> = fk_columns(target, owner, &only)?
            .into_iter()
            .map(|(t, o)| (o, t))
            .collect();
        let outgoing = fk_columns(owner, target, &only)?;
        let self_referential = std::ptr::eq(owner, target);
        let (direction, pairs) = if property.collection {
            (Direction::OneToMany, incoming)
        } else if !outgoing.is_empty() || self_referential {
            (Direction::ManyToOne, outgoing)
        } else {
            (Direction::OneToMany, incoming)
        };
        let referred = match direction {
            Direction::OneToMany => owner,
            _ => target,
        };
        if pairs.is_empty() {
            return Err(err(format!(
                "no foreign key joins {} and {}; add #[retort(foreign_key = \"{}.<column>\")] \
                 to the column that refers to the other table",
                owner.table_name(),
                target.table_name(),
                referred.table_name()
            )));
        }
        if !one_path(&pairs, referred) {
            let columns: Vec<&str> = pairs
                .iter()
                .map(|&(o, t)| match direction {
                    Direction::OneToMany => target.columns()[t].name,
                    _ => owner.columns()[o].name,
                })
                .collect();
            return Err(err(format!(
                "{} and {} are joined by more than one foreign key ({}); name the one to use \
                 with foreign_keys = \"...\"",
                owner.table_name(),
                target.table_name(),
                columns.join(", ")
            )));
        }
        (direction, pairs, None)
    };
    Ok(Relationship {
        index,
        field,
        owner,
        target,
        collection: property.collection,
        direction,
        pairs,
        secondary,
        reverse: None,
        back_populates: property.back_populates.is_some(),
        order_by,
        lazy: property.lazy,
        cascade: property.cascade,
        passive_deletes: property.passive_deletes,
        viewonly: property.viewonly,
    })
}

/// The relationship on the target that mirrors `rel`.
fn find_reverse(rel: &Relationship) -> Result<Option<usize>> {
    let declared = &rel.owner.relationship_properties()[rel.index];
    let candidates = rel.target.relationship_properties();
    if let Some(name) = declared.back_populates {
        let Some((at, partner)) = candidates.iter().enumerate().find(|(_, p)| p.field == name)
        else {
            return Err(configure_error(
                rel.owner,
                rel.field,
                format!(
                    "back_populates names `{name}`, but {} has no relationship `{name}`",
                    rel.target.model_name()
                ),
            ));
        };
        if !std::ptr::eq((partner.target)(), rel.owner) {
            return Err(configure_error(
                rel.owner,
                rel.field,
                format!(
                    "back_populates names {}.{name}, which relates to {}, not {}",
                    rel.target.model_name(),
                    (partner.target)().model_name(),
                    rel.owner.model_name()
                ),
            ));
        }
        if partner.back_populates.is_some_and(|b| b != rel.field) {
            return Err(configure_error(
                rel.owner,
                rel.field,
                format!(
                    "back_populates names {}.{name}, whose own back_populates names `{}`",
                    rel.target.model_name(),
                    partner.back_populates.unwrap_or_default()
                ),
            ));
        }
        return Ok(Some(at));
    }
    // Undeclared: a relationship of the target over the same columns the other way round.
    // Configuring the target here would recurse, so compare the declarations.
    let reverse = candidates.iter().position(|p| {
        std::ptr::eq((p.target)(), rel.owner)
            && p.secondary == declared.secondary
            && (declared.secondary.is_some() || p.collection != declared.collection)
            && !std::ptr::eq(rel.owner, rel.target)
    });
    Ok(reverse)
}
