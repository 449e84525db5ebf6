//! Rendering values as SQL literals: the one explicit path that puts a value into SQL text.
//!
//! Statements always bind their values as parameters. Literals are only for what cannot take a
//! parameter — DDL defaults, offline migration scripts, and statements shown to a person.

use std::fmt::Write;

use crate::error::{Error, Result};
use crate::value::Value;

/// Appends `value` as a SQL literal. `backslash_escapes` doubles backslashes inside strings,
/// for databases that treat a backslash in a string literal as an escape (MySQL by default).
/// `native_boolean` writes `TRUE`/`FALSE` rather than `1`/`0`.
pub fn render_literal(
    value: &Value,
    backslash_escapes: bool,
    native_boolean: bool,
    out: &mut String,
) -> Result<()> {
    let quote = |s: &str, out: &mut String| {
        out.push('\'');
        for c in s.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if backslash_escapes => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
    };
    match value {
        Value::Null => out.push_str("NULL"),
        Value::Bool(b) => out.push_str(match (native_boolean, b) {
            (true, true) => "TRUE",
            (true, false) => "FALSE",
            (false, true) => "1",
            (false, false) => "0",
        }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        Value::Float(x) => {
            return Err(Error::Argument(format!(
                "{x} cannot be written as a SQL literal"
            )))
        }
        Value::Text(s) => {
            if s.contains('\0') {
                return Err(Error::Argument(
                    "a string holding NUL cannot be written as a SQL literal".into(),
                ));
            }
            quote(s, out)
        }
        Value::Bytes(b) => {
            out.push_str("X'");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out.push('\'');
        }
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        #[cfg(feature = "chrono")]
        Value::Date(d) => quote(&d.to_string(), out),
        #[cfg(feature = "chrono")]
        Value::Time(t) => quote(&t.to_string(), out),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => quote(&t.to_string(), out),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => quote(&t.naive_utc().to_string(), out),
        #[cfg(feature = "json")]
        Value::Json(j) => quote(&j.to_string(), out),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => quote(&u.to_string(), out),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Value, backslash: bool) -> String {
        let mut s = String::new();
        render_literal(&v, backslash, true, &mut s).unwrap();
        s
    }

    #[test]
    fn quotes_are_doubled_and_backslashes_escaped_where_needed() {
        assert_eq!(lit(Value::from("it's"), false), "'it''s'");
        assert_eq!(lit(Value::from(r"a\'b"), false), r"'a\''b'");
        assert_eq!(lit(Value::from(r"a\'b"), true), r"'a\\''b'");
        assert_eq!(lit(Value::Bytes(vec![0, 255]), false), "X'00FF'");
    }

    #[test]
    fn nul_and_nan_are_refused() {
        let mut s = String::new();
        assert!(render_literal(&Value::from("a\0b"), false, true, &mut s).is_err());
        assert!(render_literal(&Value::Float(f64::NAN), false, true, &mut s).is_err());
    }
}
