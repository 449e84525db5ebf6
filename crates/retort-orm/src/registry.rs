//! The declarative registry: every `#[derive(Model)]` type, with the schema [`Table`] built
//! from its mapper — SQLAlchemy's `declarative_base()` and `Base.metadata`.
//!
//! Models register themselves when they are derived, so `Base::metadata().create_all(&engine)`
//! creates every table of the program. A [`Registry`] of your own takes models explicitly.

use std::sync::{Mutex, OnceLock};

use retort_core::schema::{Column, ForeignKey, MetaData, ReferentialAction, ServerDefault, Table};
use retort_core::{Error, Result};

use crate::mapper::{Mapper, Model};
use crate::relationship::{AssociationTable, TableRegistration};

/// A model's entry in the program-wide registry; `#[derive(Model)]` submits one.
pub struct ModelRegistration {
    mapper: fn() -> &'static Mapper,
}

impl ModelRegistration {
    /// The registration of `M`.
    pub const fn new<M: Model>() -> Self {
        ModelRegistration { mapper: M::mapper }
    }
}

inventory::collect!(ModelRegistration);

fn referential_action(model: &str, name: &str) -> Result<ReferentialAction> {
    Ok(match name.to_ascii_lowercase().replace('_', " ").as_str() {
        "cascade" => ReferentialAction::Cascade,
        "set null" => ReferentialAction::SetNull,
        "set default" => ReferentialAction::SetDefault,
        "restrict" => ReferentialAction::Restrict,
        "no action" => ReferentialAction::NoAction,
        _ => {
            return Err(Error::Argument(format!(
                "{model}: unknown referential action '{name}' (expected cascade, set null, \
                 set default, restrict or no action)"
            )))
        }
    })
}

/// Builds the schema table of `mapper` into `metadata`; a table of that name already there is
/// returned as it is.
pub fn table_for(mapper: &Mapper, metadata: &MetaData) -> Result<Table> {
    if let Some(table) = metadata.table(mapper.table_name()) {
        return Ok(table);
    }
    let mut builder = Table::new(mapper.table_name(), metadata);
    for property in mapper.columns() {
        let mut column =
            Column::new(property.name, property.sql_type.clone()).nullable(property.nullable);
        if property.primary_key {
            column = column.primary_key();
        }
        if let Some(on) = property.autoincrement {
            column = column.autoincrement(on);
        }
        if property.unique {
            column = column.unique();
        }
        if property.index {
            column = column.index();
        }
        if let Some(default) = &property.default {
            column = column.default(default.clone());
        }
        if let Some(sql) = property.server_default {
            column = column.server_default(ServerDefault::text(sql));
        }
        if let Some((target, on_delete, on_update)) = property.foreign_key {
            let mut fk = ForeignKey::new(target);
            if let Some(action) = on_delete {
                fk = fk.on_delete(referential_action(mapper.model_name(), action)?);
            }
            if let Some(action) = on_update {
                fk = fk.on_update(referential_action(mapper.model_name(), action)?);
            }
            column = column.foreign_key(fk);
        }
        builder = builder.column(column);
    }
    builder.build()
}

/// A set of models and the metadata of their tables.
#[derive(Debug, Default)]
pub struct Registry {
    metadata: MetaData,
    mappers: Mutex<Vec<&'static Mapper>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds `M` and its table, and resolves `M`'s relationships (an error names the model and
    /// field of one that cannot be resolved).
    pub fn register<M: Model>(&self) -> Result<Table> {
        self.register_mapper(M::mapper())
    }

    fn register_mapper(&self, mapper: &'static Mapper) -> Result<Table> {
        let table = table_for(mapper, &self.metadata)?;
        // The configure step: a relationship that cannot be resolved fails here, naming it.
        mapper.relationships()?;
        let mut mappers = self.mappers.lock().unwrap_or_else(|p| p.into_inner());
        if !mappers.iter().any(|m| std::ptr::eq(*m, mapper)) {
            mappers.push(mapper);
        }
        Ok(table)
    }

    /// Adds an association table (declared with
    /// [`association_table!`](crate::association_table)).
    pub fn register_table(&self, table: &'static AssociationTable) -> Result<Table> {
        table.table(&self.metadata)
    }

    /// The metadata holding every registered model's table.
    pub fn metadata(&self) -> &MetaData {
        &self.metadata
    }

    /// The registered models' mappers.
    pub fn mappers(&self) -> Vec<&'static Mapper> {
        self.mappers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The program-wide declarative base: every model derived anywhere in the program.
pub struct Base;

impl Base {
    /// The registry of every derived model and declared association table, built on first
    /// use. Building it configures every relationship: an error names the model and field.
    pub fn registry() -> Result<&'static Registry> {
        static REGISTRY: OnceLock<std::result::Result<Registry, String>> = OnceLock::new();
        let built = REGISTRY.get_or_init(|| {
            let registry = Registry::new();
            let mut mappers: Vec<&'static Mapper> = inventory::iter::<ModelRegistration>()
                .map(|r| (r.mapper)())
                .collect();
            // Link order is arbitrary; sort for a stable table order.
            mappers.sort_by_key(|m| m.table_name());
            for mapper in &mappers {
                registry
                    .register_mapper(mapper)
                    .map_err(|e| e.to_string())?;
            }
            let mut tables: Vec<&'static AssociationTable> = inventory::iter::<TableRegistration>()
                .map(|r| r.table)
                .collect();
            tables.sort_by_key(|t| t.name());
            for table in tables {
                registry.register_table(table).map_err(|e| e.to_string())?;
            }
            Ok(registry)
        });
        built
            .as_ref()
            .map_err(|message| Error::Argument(format!("the model registry is invalid: {message}")))
    }

    /// The metadata of every derived model's table: `Base.metadata`.
    pub fn metadata() -> Result<MetaData> {
        Ok(Base::registry()?.metadata().clone())
    }
}
