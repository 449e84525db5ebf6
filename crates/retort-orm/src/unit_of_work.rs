//! The unit of work: turning the session's pending, changed and deleted objects into INSERT,
//! UPDATE and DELETE statements, in foreign-key order and in as few round trips as the
//! database allows.
//!
//! New objects of a table go in multi-row `INSERT ... RETURNING` (chunked below the database's
//! parameter limit), which brings back the values the database made. Where the key is all the
//! database makes and the table's key column is the one whose value the driver reports for a
//! one-row INSERT ([`Connection::insert_id_column`]: SQLite's rowid alias), they go instead
//! one by one through a single prepared INSERT without RETURNING ([`insert_one`]), each taking
//! the reported key: SQLite spends about three times as much per row on a multi-row RETURNING.
//! Each object's parameters ([`insert_params`]) are then borrowed from its fields, not copied.
//!
//! Everything here is pure: it builds Core statements from mappers and values and leaves the
//! executing to the session.
//!
//! [`Connection::insert_id_column`]: retort_core::Connection::insert_id_column

use std::sync::Arc;

use retort_core::dialect::Capabilities;
use retort_core::schema::{sort_tables, Table};
use retort_core::sql::ast::{
    BinaryOp, ColumnRef, DeleteStatement, Expr, InsertSource, InsertStatement, Statement, TableRef,
    UpdateStatement,
};
use retort_core::value::{ParamRef, Value};
use retort_core::{Error, Result};

use crate::mapper::Mapper;

fn column_expr(mapper: &Mapper, index: usize) -> Expr {
    let column = &mapper.columns()[index];
    Expr::Column(ColumnRef {
        table: Some(TableRef::new(mapper.table_name())),
        name: Arc::from(column.name),
        sql_type: Some(column.sql_type.clone()),
    })
}

fn eq(left: Expr, right: Value) -> Expr {
    Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(left),
        right: Box::new(Expr::Param(right)),
    }
}

/// `pk1 = ? AND pk2 = ?` for one row.
pub(crate) fn primary_key_condition(mapper: &Mapper, key: &[Value]) -> Expr {
    let mut terms: Vec<Expr> = mapper
        .primary_key()
        .iter()
        .zip(key)
        .map(|(&i, v)| eq(column_expr(mapper, i), v.clone()))
        .collect();
    if terms.len() == 1 {
        terms.pop().unwrap_or(Expr::And(Vec::new()))
    } else {
        Expr::And(terms)
    }
}

/// Whether an INSERT sends column `index`, given whether the object's value of it is NULL
/// (`null`). A NULL is left out where the database supplies the value (an autoincrementing
/// key, a server default) and replaced by the client-side default where there is one.
fn sends(mapper: &Mapper, null: bool, index: usize) -> bool {
    let column = &mapper.columns()[index];
    !null
        || column.default.is_some()
        || !(column.server_default.is_some() || is_autoincrement(mapper, index))
}

/// Which columns an INSERT of an object sends, in column order; `null` says whether the
/// object's value of a column is NULL, which is all that decides it.
pub(crate) fn insert_columns(mapper: &Mapper, null: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..mapper.columns().len())
        .filter(|&i| sends(mapper, null(i), i))
        .collect()
}

/// Whether an INSERT of an object (whose NULL columns `null` tells) sends exactly the
/// columns `sent` (in column order), so it can share their statement.
pub(crate) fn sends_same(mapper: &Mapper, null: impl Fn(usize) -> bool, sent: &[usize]) -> bool {
    let mut expected = sent.iter().peekable();
    (0..mapper.columns().len()).all(|i| {
        let listed = expected.next_if_eq(&&i).is_some();
        sends(mapper, null(i), i) == listed
    })
}

/// The value an INSERT sends for column `index`, given the object's `value`.
fn insert_value(mapper: &Mapper, index: usize, value: Value) -> Value {
    match (&mapper.columns()[index].default, value) {
        (Some(default), Value::Null) => default.clone(),
        (_, value) => value,
    }
}

/// Whether the database's own autoincrement fills column `index`.
pub(crate) fn is_autoincrement(mapper: &Mapper, index: usize) -> bool {
    mapper.autoincrement_column() == Some(index)
}

/// The columns whose values come back from the database after an INSERT: those left out of
/// it, which the database filled in.
pub(crate) fn generated_columns(mapper: &Mapper, sent: &[usize]) -> Vec<usize> {
    (0..mapper.columns().len())
        .filter(|i| !sent.contains(i))
        .collect()
}

/// How the rows of an INSERT ... RETURNING are matched with the objects they were sent for.
/// No database promises the order of RETURNING rows, so that order is never used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pairing {
    /// Nothing comes back.
    Nothing,
    /// Every row's primary key was sent: rows are matched by key.
    ByKey,
    /// The database's own autoincrement fills the key column at this position of RETURNING.
    /// It gives each new row a key above every key before it, and each database inserts a
    /// VALUES list in its written order, so sorting the rows by that key gives the order sent.
    ByAutoincrement(usize),
    /// One row per statement: a key the database makes some other way (a UUID or other
    /// server default) says nothing about order, so each INSERT brings back only its own row.
    OneRow,
}

/// One multi-row INSERT of rows that send the same columns.
pub(crate) struct InsertBatch {
    /// The statement.
    pub statement: Statement,
    /// The columns read back through RETURNING (empty without RETURNING).
    pub returning: Vec<usize>,
    /// How the returned rows are matched with the objects.
    pub pairing: Pairing,
    /// How many rows the statement inserts.
    pub rows: usize,
}

/// How the rows returned for an INSERT that sends `sent` and reads back `returning` are
/// matched with their objects; an error when the database could not tell the keys it made.
fn pairing(mapper: &Mapper, sent: &[usize], returning: &[usize]) -> Result<Pairing> {
    let key_made_by_database = mapper.primary_key().iter().any(|i| !sent.contains(i));
    let autoincrement = mapper.autoincrement_column();
    if !key_made_by_database {
        return Ok(if returning.is_empty() {
            Pairing::Nothing
        } else {
            Pairing::ByKey
        });
    }
    let only_autoincrement = mapper
        .primary_key()
        .iter()
        .all(|i| sent.contains(i) || Some(*i) == autoincrement);
    match (returning.is_empty(), only_autoincrement) {
        // Without RETURNING, the driver reports an autoincrement key of a one-row INSERT.
        (true, true) => Ok(Pairing::Nothing),
        (true, false) => Err(Error::InvalidRequest(format!(
            "cannot INSERT a {} row whose primary key the database makes with a server \
             default: this database has no INSERT ... RETURNING to tell the key; set the key \
             in the application",
            mapper.model_name()
        ))),
        (false, true) => Ok(returning
            .iter()
            .position(|&i| Some(i) == autoincrement)
            .map_or(Pairing::OneRow, Pairing::ByAutoincrement)),
        (false, false) => Ok(Pairing::OneRow),
    }
}

/// Builds the INSERTs for `rows` (each the full column values of one object, taken by value so
/// they move into the statement) of one mapper, all sending the columns `sent`: multi-row where
/// RETURNING can bring generated values back (or nothing needs to come back), one row per
/// statement otherwise, and chunked below the database's parameter limit.
pub(crate) fn insert_batches(
    mapper: &Mapper,
    sent: &[usize],
    rows: Vec<Vec<Value>>,
    caps: &Capabilities,
) -> Result<Vec<InsertBatch>> {
    let generated = generated_columns(mapper, sent);
    let returning: Vec<usize> = if caps.insert_returning && !generated.is_empty() {
        // The key comes back too, to match returned rows to objects.
        let mut cols: Vec<usize> = mapper.primary_key().to_vec();
        for &g in &generated {
            if !cols.contains(&g) {
                cols.push(g);
            }
        }
        cols
    } else {
        Vec::new()
    };
    let pairing = pairing(mapper, sent, &returning)?;
    let per_statement = if sent.is_empty()
        || (!generated.is_empty() && returning.is_empty())
        || pairing == Pairing::OneRow
    {
        // DEFAULT VALUES inserts one row; without RETURNING only one generated key per
        // statement can be read back; and some keys can only be matched one row at a time.
        1
    } else {
        (caps.max_params / sent.len().max(1)).clamp(1, 1000)
    };
    let table = TableRef::new(mapper.table_name());
    let columns: Vec<Arc<str>> = sent
        .iter()
        .map(|&i| Arc::from(mapper.columns()[i].name))
        .collect();
    let returning_exprs: Vec<Expr> = returning.iter().map(|&i| column_expr(mapper, i)).collect();
    let mut rows = rows.into_iter();
    let mut batches = Vec::with_capacity(rows.len().div_ceil(per_statement));
    while rows.len() > 0 {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let count = chunk.len();
        let source = if sent.is_empty() {
            InsertSource::DefaultValues
        } else {
            InsertSource::Values(
                chunk
                    .into_iter()
                    .map(|mut values| {
                        sent.iter()
                            .map(|&i| {
                                let value = std::mem::replace(&mut values[i], Value::Null);
                                Expr::Param(insert_value(mapper, i, value))
                            })
                            .collect()
                    })
                    .collect(),
            )
        };
        batches.push(InsertBatch {
            statement: Statement::Insert(InsertStatement {
                table: table.clone(),
                columns: columns.clone(),
                source,
                on_conflict: None,
                returning: returning_exprs.clone(),
            }),
            returning: returning.clone(),
            pairing,
            rows: count,
        });
    }
    Ok(batches)
}

/// One single-row INSERT sending the columns `sent`, to run prepared once per object with
/// the parameters [`insert_params`] makes. Its own parameters are placeholders: each run
/// binds its object's.
pub(crate) fn insert_one(mapper: &Mapper, sent: &[usize]) -> Statement {
    let source = if sent.is_empty() {
        InsertSource::DefaultValues
    } else {
        InsertSource::Values(vec![vec![Expr::Param(Value::Null); sent.len()]])
    };
    Statement::Insert(InsertStatement {
        table: TableRef::new(mapper.table_name()),
        columns: sent
            .iter()
            .map(|&i| Arc::from(mapper.columns()[i].name))
            .collect(),
        source,
        on_conflict: None,
        returning: Vec::new(),
    })
}

/// The parameters of [`insert_one`] for one object, made in place of `params` (every
/// column's, in column order, borrowed from the object): each sent column's moves to its
/// placeholder's position, and a NULL gives way to the column's client-side default,
/// borrowed from the mapper, as [`insert_value`] does for a multi-row INSERT.
pub(crate) fn insert_params<'p, 'a>(
    mapper: &'static Mapper,
    sent: &[usize],
    params: &'p mut [ParamRef<'a>],
) -> &'p [ParamRef<'a>] {
    for (at, &i) in sent.iter().enumerate() {
        // `sent` is in column order, so `at <= i` and the swap never disturbs a column
        // still to come.
        params.swap(at, i);
        if let Some(default) = &mapper.columns()[i].default {
            if params[at].is_null() {
                params[at] = ParamRef::Value(default);
            }
        }
    }
    &params[..sent.len()]
}

/// `UPDATE t SET <changed> WHERE <pk> [AND version = old]`, bumping the version counter.
pub(crate) fn update_statement(
    mapper: &Mapper,
    key: &[Value],
    changed: &[(usize, Value)],
    version: Option<(Value, Value)>,
) -> Statement {
    let mut set: Vec<(Arc<str>, Expr)> = changed
        .iter()
        .map(|(i, v)| (Arc::from(mapper.columns()[*i].name), Expr::Param(v.clone())))
        .collect();
    let mut condition = primary_key_condition(mapper, key);
    if let (Some(vi), Some((old, new))) = (mapper.version_column(), version) {
        set.retain(|(name, _)| &**name != mapper.columns()[vi].name);
        set.push((Arc::from(mapper.columns()[vi].name), Expr::Param(new)));
        condition = Expr::And(vec![condition, eq(column_expr(mapper, vi), old)]);
    }
    Statement::Update(UpdateStatement {
        table: TableRef::new(mapper.table_name()),
        set,
        where_: Some(condition),
        returning: Vec::new(),
    })
}

/// DELETEs for the rows with `keys`: one `pk IN (...)` statement per chunk for a single-column
/// key, one statement per row otherwise or when a version must be checked.
pub(crate) fn delete_statements(
    mapper: &Mapper,
    keys: &[(Vec<Value>, Option<Value>)],
    caps: &Capabilities,
) -> Vec<(Statement, usize)> {
    let table = TableRef::new(mapper.table_name());
    let delete = |where_: Expr| {
        Statement::Delete(DeleteStatement {
            table: table.clone(),
            where_: Some(where_),
            returning: Vec::new(),
        })
    };
    let versioned = mapper.version_column();
    if mapper.primary_key().len() == 1 && versioned.is_none() {
        let pk = column_expr(mapper, mapper.primary_key()[0]);
        return keys
            .chunks(caps.max_params.clamp(1, 1000))
            .map(|chunk| {
                let list = chunk
                    .iter()
                    .filter_map(|(k, _)| k.first().cloned().map(Expr::Param))
                    .collect();
                let stmt = delete(Expr::InList {
                    expr: Box::new(pk.clone()),
                    list,
                    negated: false,
                });
                (stmt, chunk.len())
            })
            .collect();
    }
    keys.iter()
        .map(|(key, version)| {
            let mut condition = primary_key_condition(mapper, key);
            if let (Some(vi), Some(v)) = (versioned, version) {
                condition = Expr::And(vec![condition, eq(column_expr(mapper, vi), v.clone())]);
            }
            (delete(condition), 1)
        })
        .collect()
}

/// Column `name` of an association table.
fn table_column(table: &Table, name: &str) -> Expr {
    Expr::Column(ColumnRef {
        table: Some(table.table_ref()),
        name: Arc::from(name),
        sql_type: table.column(name).map(|c| c.sql_type().clone()),
    })
}

/// `a = ? AND b = ?` matching one row of `table` on `columns`.
fn row_condition(table: &Table, columns: &[Arc<str>], row: Vec<Value>) -> Expr {
    let mut terms: Vec<Expr> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| eq(table_column(table, c), v))
        .collect();
    if terms.len() == 1 {
        terms.pop().unwrap_or(Expr::And(Vec::new()))
    } else {
        Expr::And(terms)
    }
}

/// Rows per statement when each row takes `width` parameters.
fn rows_per_statement(width: usize, caps: &Capabilities) -> usize {
    (caps.max_params / width.max(1)).clamp(1, 1000)
}

/// Multi-row INSERTs of association rows (each the values of `columns`, in order), chunked
/// below the database's parameter limit.
pub(crate) fn association_inserts(
    table: &Table,
    columns: &[Arc<str>],
    rows: Vec<Vec<Value>>,
    caps: &Capabilities,
) -> Vec<Statement> {
    let per_statement = rows_per_statement(columns.len(), caps);
    let mut rows = rows.into_iter();
    let mut statements = Vec::with_capacity(rows.len().div_ceil(per_statement));
    while rows.len() > 0 {
        let chunk = rows
            .by_ref()
            .take(per_statement)
            .map(|row| row.into_iter().map(Expr::Param).collect())
            .collect();
        statements.push(Statement::Insert(InsertStatement {
            table: table.table_ref(),
            columns: columns.to_vec(),
            source: InsertSource::Values(chunk),
            on_conflict: None,
            returning: Vec::new(),
        }));
    }
    statements
}

/// DELETEs of association rows matched on `columns`: `(a = ? AND b = ?) OR ...` per chunk,
/// each with the number of rows it must match.
pub(crate) fn association_deletes(
    table: &Table,
    columns: &[Arc<str>],
    rows: Vec<Vec<Value>>,
    caps: &Capabilities,
) -> Vec<(Statement, usize)> {
    let per_statement = rows_per_statement(columns.len(), caps).min(500);
    let mut rows = rows.into_iter();
    let mut statements = Vec::with_capacity(rows.len().div_ceil(per_statement));
    while rows.len() > 0 {
        let mut terms: Vec<Expr> = rows
            .by_ref()
            .take(per_statement)
            .map(|row| row_condition(table, columns, row))
            .collect();
        let count = terms.len();
        let where_ = if count == 1 {
            terms.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(terms)
        };
        statements.push((
            Statement::Delete(DeleteStatement {
                table: table.table_ref(),
                where_: Some(where_),
                returning: Vec::new(),
            }),
            count,
        ));
    }
    statements
}

/// DELETEs of every association row whose `columns` hold one of `keys` (the rows of deleted
/// objects): `a IN (...)` for one column, ORs of ANDs for several.
pub(crate) fn association_unlinks(
    table: &Table,
    columns: &[Arc<str>],
    keys: Vec<Vec<Value>>,
    caps: &Capabilities,
) -> Vec<Statement> {
    if let [column] = columns {
        let column = table_column(table, column);
        return keys
            .chunks(rows_per_statement(1, caps))
            .map(|chunk| {
                let list = chunk
                    .iter()
                    .filter_map(|k| k.first().cloned().map(Expr::Param))
                    .collect();
                Statement::Delete(DeleteStatement {
                    table: table.table_ref(),
                    where_: Some(Expr::InList {
                        expr: Box::new(column.clone()),
                        list,
                        negated: false,
                    }),
                    returning: Vec::new(),
                })
            })
            .collect();
    }
    association_deletes(table, columns, keys, caps)
        .into_iter()
        .map(|(statement, _)| statement)
        .collect()
}

/// Orders mappers so that a table comes after the tables its foreign keys refer to, with
/// Core's sort of tables (the one `create_all` uses); mappers of unrelated tables keep their
/// given order. When the tables form a cycle the given order is kept, and the flush's
/// object-level ordering decides (and names the cycle if it cannot).
pub(crate) fn dependency_order(mappers: &[&'static Mapper]) -> Vec<&'static Mapper> {
    let mut tables: Vec<Table> = Vec::with_capacity(mappers.len());
    for mapper in mappers {
        match mapper.table() {
            Ok(table) if !tables.iter().any(|t| t.key() == table.key()) => tables.push(table),
            Ok(_) => {}
            // A model whose table cannot be built fails at its first statement instead.
            Err(_) => return mappers.to_vec(),
        }
    }
    let Ok(sorted) = sort_tables(&tables) else {
        return mappers.to_vec();
    };
    let mut ordered = Vec::with_capacity(mappers.len());
    for table in &sorted {
        ordered.extend(
            mappers
                .iter()
                .filter(|m| m.table().is_ok_and(|t| t.key() == table.key())),
        );
    }
    ordered
}
