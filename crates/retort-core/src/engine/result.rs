//! Statement results: [`CursorResult`] and its [`Row`]s.
//!
//! Rows share one list of column names, so a row is its values plus a reference count.
//!
//! ```
//! use retort_core::create_engine;
//!
//! let engine = create_engine("sqlite://")?;
//! let mut conn = engine.connect()?;
//! let result = conn.exec_driver_sql("SELECT 1 AS id, 'Alice' AS name", &[])?;
//! let row = result.one()?;
//! let id: i64 = row.get(0)?;
//! let name: String = row.get("name")?;
//! assert_eq!((id, name.as_str()), (1, "Alice"));
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::sync::Arc;

use crate::engine::driver::{DriverRow, RowSink, RunOutcome};
use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// A position in a row: a `usize` index or a column name.
pub trait RowIndex {
    /// The position in `columns`, or an [`Error::Argument`] naming what is wrong.
    fn index(&self, columns: &[String]) -> Result<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::Argument(format!(
                "column index {self} is out of range for a row of {} columns",
                columns.len()
            )))
        }
    }
}

impl RowIndex for str {
    fn index(&self, columns: &[String]) -> Result<usize> {
        columns.iter().position(|c| c == self).ok_or_else(|| {
            Error::Argument(format!(
                "no column named '{self}' in the row; its columns are: {}",
                columns.join(", ")
            ))
        })
    }
}

impl RowIndex for String {
    fn index(&self, columns: &[String]) -> Result<usize> {
        self.as_str().index(columns)
    }
}

impl<T: RowIndex + ?Sized> RowIndex for &T {
    fn index(&self, columns: &[String]) -> Result<usize> {
        (**self).index(columns)
    }
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of `values` under `columns`: [`Error::Argument`] unless there is exactly one
    /// value per column.
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Result<Row> {
        check_width(&columns, &values)?;
        Ok(Row { columns, values })
    }

    /// The value at `idx` (a position or a column name), converted to `T`.
    ///
    /// NULL reads as `None` into an `Option`; a value that does not fit `T` gives
    /// [`Error::Conversion`] naming the column; an unknown name or position gives
    /// [`Error::Argument`].
    pub fn get<T: FromValue>(&self, idx: impl RowIndex) -> Result<T> {
        let (i, value) = self.slot(idx)?;
        T::from_value(value.clone()).map_err(|e| self.conversion_context::<T>(i, e))
    }

    /// The raw value at `idx`.
    pub fn get_value(&self, idx: impl RowIndex) -> Result<&Value> {
        self.slot(idx).map(|(_, value)| value)
    }

    /// Moves the value at `idx` out of the row (leaving NULL) and converts it, without
    /// cloning.
    pub fn take<T: FromValue>(&mut self, idx: impl RowIndex) -> Result<T> {
        let (i, _) = self.slot(&idx)?;
        let value = self
            .values
            .get_mut(i)
            .map(|v| std::mem::replace(v, Value::Null))
            .unwrap_or(Value::Null);
        T::from_value(value).map_err(|e| self.conversion_context::<T>(i, e))
    }

    /// The position and value at `idx`.
    fn slot(&self, idx: impl RowIndex) -> Result<(usize, &Value)> {
        let i = idx.index(&self.columns)?;
        // `new` keeps one value per column, so a valid position has a value.
        let value = self.values.get(i).ok_or_else(|| {
            Error::Argument(format!(
                "column index {i} is out of range for a row of {} values",
                self.values.len()
            ))
        })?;
        Ok((i, value))
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, in column order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Names the column, its position and the Rust type in a conversion error.
    fn conversion_context<T>(&self, i: usize, err: Error) -> Error {
        match err {
            Error::Conversion(msg) => Error::Conversion(format!(
                "column '{}' (index {i}) as {}: {msg}",
                self.columns.get(i).map_or("?", String::as_str),
                short_type_name::<T>()
            )),
            other => other,
        }
    }
}

/// [`Error::Argument`] unless `values` holds exactly one value per column.
fn check_width(columns: &[String], values: &[Value]) -> Result<()> {
    if values.len() == columns.len() {
        return Ok(());
    }
    Err(Error::Argument(format!(
        "a row of {} columns needs {} values, not {}",
        columns.len(),
        columns.len(),
        values.len()
    )))
}

/// `T`'s name without module paths: `Option<NaiveDate>` rather than
/// `core::option::Option<chrono::naive::date::NaiveDate>`.
fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or_default());
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or_default());
    out
}

/// The result of executing a statement: its rows (read in full), the rows it changed, and the
/// key an INSERT generated.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorResult {
    columns: Arc<[String]>,
    rows: Vec<Row>,
    rowcount: u64,
    last_insert_id: Option<i64>,
}

impl CursorResult {
    /// A result of `rows` under `columns`. `rows_affected` is used when the statement returned
    /// no rows.
    pub fn new(
        columns: Arc<[String]>,
        rows: Vec<Vec<Value>>,
        rows_affected: u64,
        last_insert_id: Option<i64>,
    ) -> Result<CursorResult> {
        let returns_rows = !columns.is_empty();
        // Checked first, so that the rows are collected with their exact count: collecting
        // through `Result` would grow the vector by doubling, copying large results over.
        for values in &rows {
            check_width(&columns, values)?;
        }
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|values| Row {
                columns: columns.clone(),
                values,
            })
            .collect();
        let rowcount = if returns_rows {
            rows.len() as u64
        } else {
            rows_affected
        };
        Ok(CursorResult {
            columns,
            rows,
            rowcount,
            last_insert_id,
        })
    }

    /// The column names; empty for a statement that returns no rows.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether the statement returns rows (a query, or DML with RETURNING).
    pub fn returns_rows(&self) -> bool {
        !self.columns.is_empty()
    }

    /// For INSERT, UPDATE and DELETE, the rows affected (on MySQL and MariaDB the rows
    /// *matched*, as on the other databases); for a statement that returns rows, the number of
    /// rows returned.
    pub fn rowcount(&self) -> u64 {
        self.rowcount
    }

    /// The key generated by the last row an INSERT wrote: SQLite's `last_insert_rowid()`,
    /// MySQL's `LAST_INSERT_ID()` (the first row of a multi-row insert there). `None` for other
    /// statements, and always on PostgreSQL, where the key comes back through `RETURNING`.
    /// Also `None` for a MySQL key above `i64::MAX` (a `BIGINT UNSIGNED` column), which this
    /// type cannot hold; read such keys through `RETURNING` or `SELECT LAST_INSERT_ID()`.
    pub fn last_insert_id(&self) -> Option<i64> {
        self.last_insert_id
    }

    /// The rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows, by value.
    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    /// All rows (SQLAlchemy's `Result.all()`).
    pub fn all(self) -> Vec<Row> {
        self.rows
    }

    /// The first row, if any; the rest are discarded.
    pub fn first(self) -> Result<Option<Row>> {
        self.ensure_rows()?;
        Ok(self.rows.into_iter().next())
    }

    /// Exactly one row: [`Error::NoResultFound`] if there is none,
    /// [`Error::MultipleResultsFound`] if there are more.
    pub fn one(self) -> Result<Row> {
        self.one_or_none()?.ok_or(Error::NoResultFound)
    }

    /// At most one row: [`Error::MultipleResultsFound`] if there are more.
    pub fn one_or_none(self) -> Result<Option<Row>> {
        self.ensure_rows()?;
        if self.rows.len() > 1 {
            return Err(Error::MultipleResultsFound);
        }
        Ok(self.rows.into_iter().next())
    }

    /// The first column of the first row: [`Error::NoResultFound`] if there is no row.
    pub fn scalar<T: FromValue>(self) -> Result<T> {
        let mut row = self.first()?.ok_or(Error::NoResultFound)?;
        row.take(0)
    }

    /// The first column of every row.
    pub fn scalars<T: FromValue>(self) -> Result<Vec<T>> {
        self.ensure_rows()?;
        self.rows.into_iter().map(|mut row| row.take(0)).collect()
    }

    /// Every row as a tuple of typed values: `result.tuples::<(String, i64)>()`.
    ///
    /// ```
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// let rows: Vec<(String, i64)> = conn
    ///     .exec_driver_sql("SELECT 'a', 1 UNION ALL SELECT 'b', 2", &[])?
    ///     .tuples()?;
    /// assert_eq!(rows, vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn tuples<T: FromRow>(self) -> Result<Vec<T>> {
        self.ensure_rows()?;
        self.rows.into_iter().map(T::from_row).collect()
    }

    fn ensure_rows(&self) -> Result<()> {
        if self.returns_rows() {
            Ok(())
        } else {
            Err(Error::InvalidRequest(
                "this result does not return rows: the statement was not a query".into(),
            ))
        }
    }
}

impl IntoIterator for CursorResult {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;

    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a> IntoIterator for &'a CursorResult {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;

    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

/// Builds a [`CursorResult`] from a statement's rows as the driver hands them over.
#[derive(Default)]
pub(crate) struct CollectRows {
    columns: Option<Arc<[String]>>,
    rows: Vec<Row>,
}

impl CollectRows {
    pub(crate) fn finish(self, outcome: RunOutcome) -> CursorResult {
        let columns = self.columns.unwrap_or_else(|| Arc::from([]));
        let rowcount = if columns.is_empty() {
            outcome.rows_affected
        } else {
            self.rows.len() as u64
        };
        CursorResult {
            columns,
            rows: self.rows,
            rowcount,
            last_insert_id: outcome.last_insert_id,
        }
    }
}

impl RowSink for CollectRows {
    fn columns(&mut self, names: &mut dyn Iterator<Item = &str>) -> Result<()> {
        self.columns = Some(names.map(str::to_owned).collect());
        Ok(())
    }

    fn row(&mut self, row: &mut dyn DriverRow) -> Result<()> {
        let columns = match &self.columns {
            Some(columns) => Arc::clone(columns),
            None => {
                let names = (0..row.column_count()).map(|i| row.column_name(i).to_owned());
                Arc::clone(self.columns.insert(names.collect()))
            }
        };
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..row.column_count() {
            values.push(row.take(i)?);
        }
        check_width(&columns, &values)?;
        self.rows.push(Row { columns, values });
        Ok(())
    }
}

/// One row of a result, read by position while the driver holds it, without building a
/// [`Row`]: what [`Connection::query_map`](crate::Connection::query_map) hands its closure.
///
/// Each column is read once: its value is moved out (no text is copied), and reading it again
/// is an [`Error::InvalidRequest`].
pub struct RowReader<'r> {
    row: &'r mut dyn DriverRow,
    count: usize,
    /// The columns read so far, a bit each; columns past 64 in `more`.
    read: u64,
    more: Vec<u64>,
}

impl<'r> RowReader<'r> {
    /// A reader of `row`, for a [`RowSink`] of one's own.
    pub fn new(row: &'r mut dyn DriverRow) -> Self {
        RowReader {
            count: row.column_count(),
            row,
            read: 0,
            more: Vec::new(),
        }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of column `i`.
    pub fn column_name(&self, i: usize) -> &str {
        self.row.column_name(i)
    }

    /// Column `i`, converted to `T`: NULL reads as `None` into an `Option`; a value that does
    /// not fit `T` is an [`Error::Conversion`] naming the column, a position past the last
    /// column an [`Error::Argument`].
    pub fn get<T: FromValue>(&mut self, i: usize) -> Result<T> {
        let count = self.count;
        if i >= count {
            return Err(Error::Argument(format!(
                "column index {i} is out of range for a row of {count} columns"
            )));
        }
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let read = if word == 0 {
            &mut self.read
        } else {
            if self.more.len() < word {
                self.more.resize(word, 0);
            }
            &mut self.more[word - 1]
        };
        if *read & bit != 0 {
            return Err(Error::InvalidRequest(format!(
                "column {i} ('{}') was already read from this row; keep the value the first \
                 read returned",
                self.row.column_name(i)
            )));
        }
        *read |= bit;
        T::from_driver(&mut *self.row, i).map_err(|e| match e {
            Error::Conversion(msg) => Error::Conversion(format!(
                "column '{}' (index {i}) as {}: {msg}",
                self.row.column_name(i),
                short_type_name::<T>()
            )),
            other => other,
        })
    }
}

/// A Rust value built from a whole row: implemented for tuples of [`FromValue`] types, read by
/// position.
pub trait FromRow: Sized {
    /// Converts the row.
    fn from_row(row: Row) -> Result<Self>;

    /// Reads the value from a driver's row, column by column, without building a [`Row`].
    fn from_reader(row: &mut RowReader<'_>) -> Result<Self>;
}

macro_rules! tuple_from_row {
    ($len:literal: $($i:tt $t:ident),+) => {
        impl<$($t: FromValue),+> FromRow for ($($t,)+) {
            fn from_row(row: Row) -> Result<Self> {
                if row.len() != $len {
                    return Err(Error::Argument(format!(
                        "a row of {} column(s) cannot be read as a tuple of {}",
                        row.len(),
                        $len
                    )));
                }
                let mut row = row;
                Ok(($(row.take::<$t>($i)?,)+))
            }

            fn from_reader(row: &mut RowReader<'_>) -> Result<Self> {
                if row.len() != $len {
                    return Err(Error::Argument(format!(
                        "a row of {} column(s) cannot be read as a tuple of {}",
                        row.len(),
                        $len
                    )));
                }
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(1: 0 A);
tuple_from_row!(2: 0 A, 1 B);
tuple_from_row!(3: 0 A, 1 B, 2 C);
tuple_from_row!(4: 0 A, 1 B, 2 C, 3 D);
tuple_from_row!(5: 0 A, 1 B, 2 C, 3 D, 4 E);
tuple_from_row!(6: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple_from_row!(7: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple_from_row!(8: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

impl Row {
    /// The row as a tuple of typed values: `row.into_tuple::<(String, i64)>()`.
    pub fn into_tuple<T: FromRow>(self) -> Result<T> {
        T::from_row(self)
    }
}
