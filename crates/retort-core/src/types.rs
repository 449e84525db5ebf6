//! SQL column types, and the mapping from Rust types to them.
//!
//! Each dialect renders a [`SqlType`] as its own DDL (`BIGINT`, `INTEGER`, `TINYINT(1)`, ...).
//! [`SqlTyped`] gives the default SQL type of a Rust type; together with
//! [`ToValue`](crate::value::ToValue) and [`FromValue`](crate::value::FromValue) it is how a type
//! of your own becomes a column type — SQLAlchemy's `TypeDecorator`:
//!
//! ```
//! use retort_core::types::{SqlType, SqlTyped};
//! use retort_core::value::{FromValue, ToValue, Value};
//! use retort_core::Result;
//!
//! /// An e-mail address stored as VARCHAR(320), lower-cased on the way in.
//! struct Email(String);
//!
//! impl SqlTyped for Email {
//!     fn sql_type() -> SqlType { SqlType::String(Some(320)) }
//! }
//! impl ToValue for Email {
//!     fn to_value(&self) -> Value { Value::Text(self.0.to_lowercase()) }
//! }
//! impl FromValue for Email {
//!     fn from_value(v: Value) -> Result<Self> { String::from_value(v).map(Email) }
//! }
//!
//! assert_eq!(Email("A@B.ORG".into()).to_value(), Value::Text("a@b.org".into()));
//! ```

/// A SQL column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// A 32-bit integer.
    Integer,
    /// A 16-bit integer.
    SmallInteger,
    /// A 64-bit integer.
    BigInteger,
    /// A single-precision float.
    Float,
    /// A double-precision float.
    Double,
    /// An exact decimal with optional precision and scale.
    Numeric {
        /// Total digits.
        precision: Option<u32>,
        /// Digits after the decimal point.
        scale: Option<u32>,
    },
    /// A variable-length string with an optional maximum length.
    String(Option<u32>),
    /// Unbounded text.
    Text,
    /// A boolean.
    Boolean,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time; `timezone` stores an instant rather than a wall-clock time.
    DateTime {
        /// Whether the type is zone-aware.
        timezone: bool,
    },
    /// Binary data.
    LargeBinary,
    /// A JSON document.
    Json,
    /// A UUID.
    Uuid,
    /// One of a fixed set of strings. `name` names the type where the database has named enum
    /// types (PostgreSQL); elsewhere a CHECK or the native ENUM column type holds the set.
    Enum {
        /// The type's name.
        name: String,
        /// The allowed values.
        variants: Vec<String>,
    },
    /// A type written out verbatim in DDL, for what the variants above do not cover.
    Custom(String),
}

impl SqlType {
    /// `VARCHAR(length)`.
    pub fn string(length: u32) -> SqlType {
        SqlType::String(Some(length))
    }

    /// `NUMERIC(precision, scale)`.
    pub fn numeric(precision: u32, scale: u32) -> SqlType {
        SqlType::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        }
    }

    /// An enum type with its allowed values.
    pub fn enumeration<S: Into<String>>(
        name: impl Into<String>,
        variants: impl IntoIterator<Item = S>,
    ) -> SqlType {
        SqlType::Enum {
            name: name.into(),
            variants: variants.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the type is an integer type (and so may autoincrement).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            SqlType::Integer | SqlType::SmallInteger | SqlType::BigInteger
        )
    }
}

/// The SQL type a Rust type maps to by default.
///
/// `Option<T>` has the type of `T`; nullability is decided by the column, not the type.
pub trait SqlTyped {
    /// The column type.
    fn sql_type() -> SqlType;
}

macro_rules! sql_typed {
    ($($t:ty => $sql:expr),* $(,)?) => {$(
        impl SqlTyped for $t {
            fn sql_type() -> SqlType {
                $sql
            }
        }
    )*};
}

sql_typed! {
    i8 => SqlType::SmallInteger,
    i16 => SqlType::SmallInteger,
    u8 => SqlType::SmallInteger,
    i32 => SqlType::Integer,
    u16 => SqlType::Integer,
    i64 => SqlType::BigInteger,
    u32 => SqlType::BigInteger,
    u64 => SqlType::BigInteger,
    f32 => SqlType::Float,
    f64 => SqlType::Double,
    bool => SqlType::Boolean,
    String => SqlType::String(None),
    Vec<u8> => SqlType::LargeBinary,
}

#[cfg(feature = "decimal")]
sql_typed! { rust_decimal::Decimal => SqlType::Numeric { precision: None, scale: None } }

#[cfg(feature = "chrono")]
sql_typed! {
    chrono::NaiveDate => SqlType::Date,
    chrono::NaiveTime => SqlType::Time,
    chrono::NaiveDateTime => SqlType::DateTime { timezone: false },
    chrono::DateTime<chrono::Utc> => SqlType::DateTime { timezone: true },
}

#[cfg(feature = "uuid")]
sql_typed! { uuid::Uuid => SqlType::Uuid }

#[cfg(feature = "json")]
sql_typed! { serde_json::Value => SqlType::Json }

impl<T: SqlTyped> SqlTyped for Option<T> {
    fn sql_type() -> SqlType {
        T::sql_type()
    }
}
