//! Values as they travel between Rust and the database.
//!
//! Every parameter is sent as a [`Value`] through the driver's bind mechanism — never inlined in
//! SQL text — and every column read back arrives as one. [`ToValue`] and [`FromValue`] convert
//! Rust types to and from it; implement them (with [`SqlTyped`](crate::types::SqlTyped)) to map
//! a type of your own, as SQLAlchemy's `TypeDecorator` does.
//!
//! ```
//! use retort_core::value::{FromValue, ToValue, Value};
//!
//! let v = 42i32.to_value();
//! assert_eq!(v, Value::Int(42));
//! assert_eq!(i64::from_value(v).unwrap(), 42);
//! assert_eq!(Option::<String>::from_value(Value::Null).unwrap(), None);
//! ```

use std::fmt;

use crate::engine::driver::DriverRow;
use crate::error::{Error, Result};

/// A SQL value: what a parameter is bound as and what a column is read as.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer that fits in 64 signed bits.
    Int(i64),
    /// A floating-point number. NaN and the infinities are stored where the database has
    /// them (PostgreSQL) and refused with [`Error::Data`] elsewhere.
    Float(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// An exact decimal number.
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
    /// A calendar date.
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    /// A time of day. Every database keeps microseconds: finer digits are dropped when the
    /// value is sent, as a column's precision drops them; a leap second is refused where the
    /// database has no representation for it.
    #[cfg(feature = "chrono")]
    Time(chrono::NaiveTime),
    /// A date and time without a time zone, kept to the microsecond like [`Value::Time`].
    /// A date outside the database's range is refused with [`Error::Data`].
    #[cfg(feature = "chrono")]
    DateTime(chrono::NaiveDateTime),
    /// An instant in time, in UTC, kept to the microsecond like [`Value::Time`].
    #[cfg(feature = "chrono")]
    DateTimeUtc(chrono::DateTime<chrono::Utc>),
    /// A JSON document.
    #[cfg(feature = "json")]
    Json(serde_json::Value),
    /// A UUID.
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => "decimal",
            #[cfg(feature = "chrono")]
            Value::Date(_) => "date",
            #[cfg(feature = "chrono")]
            Value::Time(_) => "time",
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => "datetime",
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(_) => "datetime with time zone",
            #[cfg(feature = "json")]
            Value::Json(_) => "json",
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => "uuid",
        }
    }
}

/// Shows the value as a SQL literal would look, for logs and compiled-statement display.
/// Text is quoted with doubled single quotes; this is for people to read, not to execute.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Bytes(b) => {
                f.write_str("x'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("'")
            }
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => write!(f, "{d}"),
            #[cfg(feature = "chrono")]
            Value::Date(d) => write!(f, "'{d}'"),
            #[cfg(feature = "chrono")]
            Value::Time(t) => write!(f, "'{t}'"),
            #[cfg(feature = "chrono")]
            Value::DateTime(t) => write!(f, "'{t}'"),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(t) => write!(f, "'{}'", t.to_rfc3339()),
            #[cfg(feature = "json")]
            Value::Json(j) => write!(f, "'{}'", j.to_string().replace('\'', "''")),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => write!(f, "'{u}'"),
        }
    }
}

/// A parameter to bind, borrowed from where it lives where that saves a copy: text and bytes
/// are bound straight from the `String` or `Vec<u8>` that holds them, with no allocation.
/// Anything else (integers, floats, dates, JSON) is held by value, as `to_value` makes it.
///
/// [`ToValue::to_param`] makes one from a Rust value; [`Connection::run_prepared`] runs a
/// statement with a slice of them.
///
/// ```
/// use retort_core::value::{ParamRef, ToValue, Value};
///
/// let name = String::from("Alice");
/// let param = name.to_param();
/// assert!(matches!(param, ParamRef::Text("Alice")));
/// assert_eq!(param.to_value(), Value::Text("Alice".into()));
///
/// let missing: Option<String> = None;
/// assert!(missing.to_param().is_null());
/// assert_eq!(7i32.to_param().into_value(), Value::Int(7));
/// ```
///
/// [`Connection::run_prepared`]: crate::Connection::run_prepared
#[derive(Debug, Clone)]
pub enum ParamRef<'a> {
    /// A value held elsewhere.
    Value(&'a Value),
    /// Text, bound as [`Value::Text`] would be.
    Text(&'a str),
    /// Binary data, bound as [`Value::Bytes`] would be.
    Bytes(&'a [u8]),
    /// A value made for this parameter.
    Owned(Value),
}

impl ParamRef<'_> {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        match self {
            ParamRef::Value(v) => v.is_null(),
            ParamRef::Owned(v) => v.is_null(),
            ParamRef::Text(_) | ParamRef::Bytes(_) => false,
        }
    }

    /// The parameter as a [`Value`] when it is one (borrowed or owned); `None` for borrowed
    /// text and bytes.
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            ParamRef::Value(v) => Some(v),
            ParamRef::Owned(v) => Some(v),
            ParamRef::Text(_) | ParamRef::Bytes(_) => None,
        }
    }

    /// An owned copy of the value bound, as listeners and errors are given it.
    pub fn to_value(&self) -> Value {
        match self {
            ParamRef::Value(v) => (*v).clone(),
            ParamRef::Text(s) => Value::Text((*s).to_owned()),
            ParamRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ParamRef::Owned(v) => v.clone(),
        }
    }

    /// The value bound, owned: copies only what is borrowed.
    pub fn into_value(self) -> Value {
        match self {
            ParamRef::Owned(v) => v,
            borrowed => borrowed.to_value(),
        }
    }
}

impl From<Value> for ParamRef<'_> {
    fn from(value: Value) -> Self {
        ParamRef::Owned(value)
    }
}

impl<'a> From<&'a Value> for ParamRef<'a> {
    fn from(value: &'a Value) -> Self {
        ParamRef::Value(value)
    }
}

/// Converts a Rust value into a [`Value`] to bind as a parameter.
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Value;

    /// The value to bind, borrowed from `self` where that saves a copy (text, bytes). The
    /// default is [`to_value`](Self::to_value) held by value; a type holding its data in a
    /// form the database takes as is may override it. It must bind exactly what `to_value`
    /// gives.
    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Owned(self.to_value())
    }
}

/// Converts a [`Value`] read from the database into a Rust value.
///
/// Conversions accept every representation the three databases use for a type: a `bool` reads
/// from SQLite's and MySQL's integers, a date reads from SQLite's ISO-8601 text, and so on.
pub trait FromValue: Sized {
    /// Converts, or reports why the value does not fit.
    fn from_value(value: Value) -> Result<Self>;

    /// Reads column `i` of a driver's row: the same result as `from_value` of the column's
    /// value, where a type can skip building that value (integers, text).
    fn from_driver(row: &mut dyn DriverRow, i: usize) -> Result<Self> {
        Self::from_value(row.take(i)?)
    }

    /// Reads column `i` of a driver's row into an `Option` (NULL is `None`), as
    /// [`from_driver`](Self::from_driver) does for `Option<Self>`.
    fn from_driver_opt(row: &mut dyn DriverRow, i: usize) -> Result<Option<Self>> {
        match row.take(i)? {
            Value::Null => Ok(None),
            value => Self::from_value(value).map(Some),
        }
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }

    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Value(self)
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self> {
        Ok(value)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }

    fn to_param(&self) -> ParamRef<'_> {
        (**self).to_param()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }

    fn to_param(&self) -> ParamRef<'_> {
        match self {
            Some(v) => v.to_param(),
            None => ParamRef::Owned(Value::Null),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }

    fn from_driver(row: &mut dyn DriverRow, i: usize) -> Result<Self> {
        T::from_driver_opt(row, i)
    }
}

/// The error for a value that cannot become `target`.
pub(crate) fn mismatch(value: &Value, target: &str) -> Error {
    if value.is_null() {
        Error::Conversion(format!(
            "unexpected NULL for a non-optional {target} (use Option<{target}>)"
        ))
    } else {
        Error::Conversion(format!(
            "cannot convert {} value {value} to {target}",
            value.type_name()
        ))
    }
}

macro_rules! integer_conversions {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }

        impl FromValue for $t {
            fn from_driver(row: &mut dyn DriverRow, i: usize) -> Result<Self> {
                typed(row.take_int(i)?, narrow)
            }

            fn from_driver_opt(row: &mut dyn DriverRow, i: usize) -> Result<Option<Self>> {
                typed_opt(row.take_int(i)?, narrow)
            }

            fn from_value(value: Value) -> Result<Self> {
                let wide = match &value {
                    Value::Int(i) => *i,
                    Value::Bool(b) => i64::from(*b),
                    #[cfg(feature = "decimal")]
                    Value::Decimal(d) if d.fract().is_zero() => {
                        i64::try_from(*d).map_err(|_| mismatch(&value, stringify!($t)))?
                    }
                    Value::Text(s) => s.trim().parse::<i64>().map_err(|_| mismatch(&value, stringify!($t)))?,
                    _ => return Err(mismatch(&value, stringify!($t))),
                };
                narrow(wide)
            }
        }
    )*};
}

/// A column read by a driver's typed read (`take_int`, `take_text`): what it read, converted,
/// or any other value through `from_value`, so the result is the one `from_value` gives.
fn typed<T: FromValue, U>(
    read: std::result::Result<U, Value>,
    convert: impl FnOnce(U) -> Result<T>,
) -> Result<T> {
    match read {
        Ok(v) => convert(v),
        Err(value) => T::from_value(value),
    }
}

/// [`typed`] into an `Option`: NULL is `None`.
fn typed_opt<T: FromValue, U>(
    read: std::result::Result<U, Value>,
    convert: impl FnOnce(U) -> Result<T>,
) -> Result<Option<T>> {
    match read {
        Ok(v) => convert(v).map(Some),
        Err(Value::Null) => Ok(None),
        Err(value) => T::from_value(value).map(Some),
    }
}

/// `wide` as the integer type `T`, or the error for a value out of its range.
fn narrow<T: TryFrom<i64>>(wide: i64) -> Result<T> {
    T::try_from(wide).map_err(|_| {
        Error::Conversion(format!(
            "{wide} is out of range for {}",
            std::any::type_name::<T>()
        ))
    })
}

integer_conversions!(i8, i16, i32, i64, u8, u16, u32);

impl ToValue for u64 {
    /// Values above `i64::MAX` are sent as an exact decimal (as their decimal text without the
    /// `decimal` feature): a database stores them exactly in a column wide enough, or refuses
    /// them with a [`Error::Data`] — SQLite, whose integers stop at `i64::MAX`, always refuses
    /// them rather than store a rounded REAL.
    fn to_value(&self) -> Value {
        match i64::try_from(*self) {
            Ok(i) => Value::Int(i),
            #[cfg(feature = "decimal")]
            Err(_) => Value::Decimal(rust_decimal::Decimal::from(*self)),
            #[cfg(not(feature = "decimal"))]
            Err(_) => Value::Text(self.to_string()),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: Value) -> Result<Self> {
        match &value {
            Value::Int(i) => u64::try_from(*i)
                .map_err(|_| Error::Conversion(format!("{i} is out of range for u64"))),
            Value::Bool(b) => Ok(u64::from(*b)),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) if d.fract().is_zero() => u64::try_from(*d)
                .map_err(|_| Error::Conversion(format!("{d} is out of range for u64"))),
            Value::Text(s) => s.trim().parse().map_err(|_| mismatch(&value, "u64")),
            _ => Err(mismatch(&value, "u64")),
        }
    }
}

/// `i` as an `f64`, if the double holds it exactly (every integer up to 2^53 in magnitude,
/// and some beyond).
fn exact_f64(i: i64) -> Option<f64> {
    let x = i as f64;
    // i64::MAX rounds up to 2^63, which is outside i64: compare in the float domain first.
    (x < 9_223_372_036_854_775_808.0 && x as i64 == i).then_some(x)
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::Float(f64::from(*self))
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self> {
        match &value {
            Value::Float(x) => Ok(*x),
            Value::Int(i) => exact_f64(*i).ok_or_else(|| {
                Error::Conversion(format!("{i} has no exact f64; read it as i64 instead"))
            }),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => {
                use rust_decimal::prelude::ToPrimitive;
                d.to_f64().ok_or_else(|| mismatch(&value, "f64"))
            }
            Value::Text(s) => s.trim().parse().map_err(|_| mismatch(&value, "f64")),
            _ => Err(mismatch(&value, "f64")),
        }
    }
}

impl FromValue for f32 {
    /// Rounds to the nearest `f32`, but refuses a finite value beyond `f32`'s range (which
    /// would become infinity) or a non-zero one too small for it (which would become zero).
    fn from_value(value: Value) -> Result<Self> {
        let x = f64::from_value(value)?;
        let y = x as f32;
        if (y.is_infinite() && x.is_finite()) || (y == 0.0 && x != 0.0) {
            return Err(Error::Conversion(format!(
                "{x:?} is out of range for f32; read it as f64 instead"
            )));
        }
        Ok(y)
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self> {
        match &value {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            _ => Err(mismatch(&value, "bool")),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }

    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }

    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Text(self)
    }
}

impl FromValue for String {
    fn from_driver(row: &mut dyn DriverRow, i: usize) -> Result<Self> {
        typed(row.take_text(i)?, Ok)
    }

    fn from_driver_opt(row: &mut dyn DriverRow, i: usize) -> Result<Option<Self>> {
        typed_opt(row.take_text(i)?, Ok)
    }

    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Text(s) => Ok(s),
            Value::Bytes(b) => String::from_utf8(b)
                .map_err(|e| Error::Conversion(format!("column bytes are not UTF-8: {e}"))),
            #[cfg(feature = "json")]
            Value::Json(j) => Ok(j.to_string()),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => Ok(u.to_string()),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => Ok(d.to_string()),
            other => Err(mismatch(&other, "String")),
        }
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }

    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Bytes(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }

    fn to_param(&self) -> ParamRef<'_> {
        ParamRef::Bytes(self)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Bytes(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(mismatch(&other, "Vec<u8>")),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

macro_rules! value_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                v.to_value()
            }
        }
    )*};
}

value_from!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    bool,
    String,
    Vec<u8>
);

impl<T: ToValue> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.to_value()
    }
}

#[cfg(feature = "decimal")]
mod decimal {
    use super::*;
    use rust_decimal::Decimal;

    impl ToValue for Decimal {
        fn to_value(&self) -> Value {
            Value::Decimal(*self)
        }
    }

    impl FromValue for Decimal {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::Decimal(d) => Ok(*d),
                Value::Int(i) => Ok(Decimal::from(*i)),
                // SQLite stores a decimal with at most 15 significant digits as REAL; the
                // shortest representation of that double is the decimal that was written.
                Value::Float(x) => {
                    parse_exact(&format!("{x}")).ok_or_else(|| mismatch(&value, "Decimal"))
                }
                Value::Text(s) => parse_exact(s).ok_or_else(|| mismatch(&value, "Decimal")),
                _ => Err(mismatch(&value, "Decimal")),
            }
        }
    }

    impl From<Decimal> for Value {
        fn from(v: Decimal) -> Self {
            Value::Decimal(v)
        }
    }

    /// Parses decimal text (or scientific notation) into a [`Decimal`] only if it holds the
    /// number exactly: `None` for more than 28 decimal places or 96 bits of mantissa, where
    /// `Decimal::from_str` would round. Zeros after the last significant place do not count.
    pub(crate) fn parse_exact(text: &str) -> Option<Decimal> {
        let text = text.trim();
        if let Ok(d) = Decimal::from_str_exact(text) {
            return Some(d);
        }
        if let Some((base, _)) = text.split_once(['e', 'E']) {
            // from_scientific rounds only its base, and refuses an exponent it cannot apply.
            parse_exact(base)?;
            return Decimal::from_scientific(text).ok();
        }
        let trimmed = match text.split_once('.') {
            Some((whole, fraction)) => {
                let fraction = fraction.trim_end_matches('0');
                if fraction.is_empty() {
                    whole.to_owned()
                } else {
                    format!("{whole}.{fraction}")
                }
            }
            None => return None,
        };
        Decimal::from_str_exact(&trimmed).ok()
    }
}

// The PostgreSQL and MySQL drivers read NUMERIC text through it.
#[cfg(all(feature = "decimal", any(feature = "postgres", feature = "mysql")))]
pub(crate) use decimal::parse_exact;

#[cfg(feature = "uuid")]
mod uuid_conv {
    use super::*;
    use uuid::Uuid;

    impl ToValue for Uuid {
        fn to_value(&self) -> Value {
            Value::Uuid(*self)
        }
    }

    impl FromValue for Uuid {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::Uuid(u) => Ok(*u),
                Value::Text(s) => Uuid::parse_str(s.trim()).map_err(|_| mismatch(&value, "Uuid")),
                Value::Bytes(b) if b.len() == 16 => {
                    Uuid::from_slice(b).map_err(|_| mismatch(&value, "Uuid"))
                }
                Value::Bytes(b) => std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| Uuid::parse_str(s.trim()).ok())
                    .ok_or_else(|| mismatch(&value, "Uuid")),
                _ => Err(mismatch(&value, "Uuid")),
            }
        }
    }

    impl From<Uuid> for Value {
        fn from(v: Uuid) -> Self {
            Value::Uuid(v)
        }
    }
}

#[cfg(feature = "json")]
mod json {
    use super::*;

    impl ToValue for serde_json::Value {
        fn to_value(&self) -> Value {
            Value::Json(self.clone())
        }
    }

    impl FromValue for serde_json::Value {
        fn from_value(value: Value) -> Result<Self> {
            match value {
                Value::Json(j) => Ok(j),
                Value::Text(s) => serde_json::from_str(&s)
                    .map_err(|e| Error::Conversion(format!("column text is not JSON: {e}"))),
                Value::Bytes(b) => serde_json::from_slice(&b)
                    .map_err(|e| Error::Conversion(format!("column bytes are not JSON: {e}"))),
                other => Err(mismatch(&other, "serde_json::Value")),
            }
        }
    }

    impl From<serde_json::Value> for Value {
        fn from(v: serde_json::Value) -> Self {
            Value::Json(v)
        }
    }
}

#[cfg(feature = "chrono")]
mod datetime {
    use super::*;
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

    const DATETIME_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];

    fn parse_naive_datetime(s: &str) -> Option<NaiveDateTime> {
        let s = s.trim();
        DATETIME_FORMATS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(NaiveTime::MIN))
            })
    }

    impl ToValue for NaiveDate {
        fn to_value(&self) -> Value {
            Value::Date(*self)
        }
    }

    impl FromValue for NaiveDate {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::Date(d) => Ok(*d),
                Value::DateTime(dt) => Ok(dt.date()),
                Value::Text(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .ok()
                    .or_else(|| parse_naive_datetime(s).map(|dt| dt.date()))
                    .ok_or_else(|| mismatch(&value, "NaiveDate")),
                _ => Err(mismatch(&value, "NaiveDate")),
            }
        }
    }

    impl ToValue for NaiveTime {
        fn to_value(&self) -> Value {
            Value::Time(*self)
        }
    }

    impl FromValue for NaiveTime {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::Time(t) => Ok(*t),
                Value::Text(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
                    .map_err(|_| mismatch(&value, "NaiveTime")),
                _ => Err(mismatch(&value, "NaiveTime")),
            }
        }
    }

    impl ToValue for NaiveDateTime {
        fn to_value(&self) -> Value {
            Value::DateTime(*self)
        }
    }

    impl FromValue for NaiveDateTime {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::DateTime(dt) => Ok(*dt),
                Value::DateTimeUtc(dt) => Ok(dt.naive_utc()),
                Value::Date(d) => Ok(d.and_time(NaiveTime::MIN)),
                Value::Text(s) => {
                    parse_naive_datetime(s).ok_or_else(|| mismatch(&value, "NaiveDateTime"))
                }
                _ => Err(mismatch(&value, "NaiveDateTime")),
            }
        }
    }

    impl ToValue for DateTime<Utc> {
        fn to_value(&self) -> Value {
            Value::DateTimeUtc(*self)
        }
    }

    impl FromValue for DateTime<Utc> {
        fn from_value(value: Value) -> Result<Self> {
            match &value {
                Value::DateTimeUtc(dt) => Ok(*dt),
                // Databases without a zone-aware type store UTC wall-clock time.
                Value::DateTime(dt) => Ok(dt.and_utc()),
                Value::Text(s) => DateTime::parse_from_rfc3339(s.trim())
                    .map(|dt| dt.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        DateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f%#z")
                            .ok()
                            .map(|dt| dt.with_timezone(&Utc))
                    })
                    .or_else(|| parse_naive_datetime(s).map(|dt| dt.and_utc()))
                    .ok_or_else(|| mismatch(&value, "DateTime<Utc>")),
                _ => Err(mismatch(&value, "DateTime<Utc>")),
            }
        }
    }

    macro_rules! chrono_from {
        ($($t:ty),*) => {$(
            impl From<$t> for Value {
                fn from(v: $t) -> Self {
                    v.to_value()
                }
            }
        )*};
    }

    chrono_from!(NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>);
}
