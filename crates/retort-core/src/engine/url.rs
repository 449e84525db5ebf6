//! Database URLs: `dialect://user:password@host:port/database?key=value`.
//!
//! The forms SQLAlchemy accepts are understood:
//!
//! | URL | meaning |
//! |---|---|
//! | `sqlite:///relative.db` | a file relative to the working directory |
//! | `sqlite:////absolute/path.db` | an absolute path |
//! | `sqlite://`, `sqlite:///:memory:` | a private in-memory database |
//! | `postgresql://user:pw@host:5432/db` (or `postgres://`) | PostgreSQL |
//! | `mysql://user:pw@host:3306/db`, `mariadb://...` | MySQL / MariaDB |
//!
//! The user name, password, database and query options are percent-decoded, so a password
//! holding `@` or `/` is written `%40` / `%2F`. Query options are handed to the driver
//! (`options=-csearch_path%3Dapp` and `connect_timeout=10` on PostgreSQL, for example).
//!
//! ```
//! use retort_core::Url;
//!
//! let url: Url = "postgresql://scott:ti%40ger@db.example:5433/app?connect_timeout=10".parse()?;
//! assert_eq!(url.username(), Some("scott"));
//! assert_eq!(url.password(), Some("ti@ger"));
//! assert_eq!(url.host(), Some("db.example"));
//! assert_eq!(url.port(), Some(5433));
//! assert_eq!(url.database(), Some("app"));
//! assert_eq!(url.query_value("connect_timeout"), Some("10"));
//! // The password never shows in logs.
//! assert_eq!(url.to_string(), "postgresql://scott:***@db.example:5433/app?connect_timeout=10");
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    drivername: String,
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    query: Vec<(String, String)>,
}

impl Url {
    /// Parses `url`. The scheme is not checked against the known databases here;
    /// [`create_engine`](crate::create_engine) does that.
    pub fn parse(url: &str) -> Result<Url> {
        let (drivername, rest) = url
            .split_once("://")
            .ok_or_else(|| Error::Url("missing '://' after the database name".into()))?;
        let valid_scheme = drivername
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && drivername
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'));
        if !valid_scheme {
            return Err(Error::Url(format!(
                "'{drivername}' is not a valid database name before '://'"
            )));
        }

        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, parse_query(query)?),
            None => (rest, Vec::new()),
        };

        // User information ends at the first '@' — unless what precedes it cannot be a user
        // name (it holds a '/'), in which case the '@' belongs to the path.
        let (userinfo, rest) = match rest.split_once('@') {
            Some((info, after)) if !info.split(':').next().unwrap_or("").contains('/') => {
                (Some(info), after)
            }
            _ => (None, rest),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (info, None),
                };
                let user = decode(user, "user name")?;
                let password = password.map(|p| decode(p, "password")).transpose()?;
                ((!user.is_empty()).then_some(user), password)
            }
        };

        let (hostport, database) = match rest.split_once('/') {
            Some((hostport, path)) => (hostport, Some(path)),
            None => (rest, None),
        };
        let (host, port) = parse_host_port(hostport)?;
        let database = match database {
            Some(path) if !path.is_empty() => Some(decode(path, "database")?),
            _ => None,
        };

        Ok(Url {
            drivername: drivername.to_owned(),
            username,
            password,
            host,
            port,
            database,
            query,
        })
    }

    /// The part before `://`: `sqlite`, `postgresql`, `mysql`, ...
    pub fn drivername(&self) -> &str {
        &self.drivername
    }

    /// The user name, if given.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, if given, percent-decoded.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host name or address (an IPv6 address without its brackets), if given.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The database: its name, or for SQLite the file path (`None` or `":memory:"` for an
    /// in-memory database).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The query options, decoded, in the order written.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The value of query option `key` (the last one when it is repeated).
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// This URL with another host (or none).
    pub fn with_host(mut self, host: Option<&str>) -> Url {
        self.host = host.map(str::to_owned);
        self
    }

    /// This URL with another port (or none, for the database's default).
    pub fn with_port(mut self, port: Option<u16>) -> Url {
        self.port = port;
        self
    }

    /// This URL with another database (or none).
    pub fn with_database(mut self, database: Option<&str>) -> Url {
        self.database = database.map(str::to_owned);
        self
    }

    /// This URL with query option `key` set to `value`, replacing any earlier value.
    pub fn with_query_value(mut self, key: &str, value: &str) -> Url {
        self.query.retain(|(k, _)| k != key);
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// This URL without query option `key`.
    pub fn without_query_value(mut self, key: &str) -> Url {
        self.query.retain(|(k, _)| k != key);
        self
    }

    /// Writes the URL back out, percent-encoded so that it parses to the same value, with the
    /// password shown as `***` when `hide_password` is true.
    pub fn render_as_string(&self, hide_password: bool) -> String {
        let mut out = format!("{}://", self.drivername);
        if self.username.is_some() || self.password.is_some() {
            if let Some(user) = &self.username {
                encode_into(user, COMPONENT, &mut out);
            }
            if let Some(password) = &self.password {
                out.push(':');
                if hide_password {
                    out.push_str("***");
                } else {
                    encode_into(password, COMPONENT, &mut out);
                }
            }
            out.push('@');
        }
        if let Some(host) = &self.host {
            if host.contains(':') {
                out.push('[');
                out.push_str(host);
                out.push(']');
            } else {
                encode_into(host, COMPONENT, &mut out);
            }
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        if let Some(database) = &self.database {
            out.push('/');
            encode_into(database, DATABASE_PATH, &mut out);
        }
        for (i, (key, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            encode_into(key, COMPONENT, &mut out);
            out.push('=');
            encode_into(value, COMPONENT, &mut out);
        }
        out
    }
}

/// Shows the URL with the password hidden.
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_as_string(true))
    }
}

/// Like `Display`: the password is hidden.
impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({})", self.render_as_string(true))
    }
}

impl FromStr for Url {
    type Err = Error;

    fn from_str(s: &str) -> Result<Url> {
        Url::parse(s)
    }
}

/// Anything that names a database: a URL string or a parsed [`Url`].
pub trait IntoUrl {
    /// The parsed URL.
    fn into_url(self) -> Result<Url>;
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url> {
        Ok(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url> {
        Ok(self.clone())
    }
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url> {
        Url::parse(self)
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url> {
        Url::parse(&self)
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url> {
        Url::parse(self)
    }
}

fn parse_host_port(hostport: &str) -> Result<(Option<String>, Option<u16>)> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| Error::Url("unclosed '[' in the host".into()))?;
        let port =
            match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    Error::Url(format!("unexpected '{p}' after the IPv6 address"))
                })?),
            };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (decode(host, "host")?, Some(port)),
            None => (decode(hostport, "host")?, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| Error::Url(format!("invalid port '{p}'")))?,
        ),
    };
    Ok(((!host.is_empty()).then_some(host), port))
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::Url(format!("query option '{pair}' has no '=value'")))?;
            Ok((
                decode(key, "query option name")?,
                decode(value, "query option value")?,
            ))
        })
        .collect()
}

/// What is percent-encoded in a URL part: everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The database part keeps its `/` and `:` as they are (SQLite file paths).
const DATABASE_PATH: &AsciiSet = &COMPONENT.remove(b'/').remove(b':');

/// Decodes `%XX` escapes; `what` names the URL part in the error.
fn decode(s: &str, what: &str) -> Result<String> {
    // percent-encoding passes a malformed escape through unchanged; in a URL one is nearly
    // always a `%` that should have been written `%25` (in a password, say), so it is
    // refused here rather than kept as a literal `%`.
    let bytes = s.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(Error::Url(format!(
            "invalid percent-encoding in the {what} (a '%' must be followed by two hex digits)"
        )));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| Error::Url(format!("the {what} does not decode to UTF-8")))
}

/// Appends `s`, percent-encoding the bytes in `set`.
fn encode_into(s: &str, set: &'static AsciiSet, out: &mut String) {
    out.extend(utf8_percent_encode(s, set));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_truncated_escape() {
        assert!(decode("ab%4", "password").is_err());
        assert_eq!(decode("a%2Fb%40", "password").unwrap(), "a/b@");
    }

    #[test]
    fn decode_rejects_a_sign_where_a_hex_digit_belongs() {
        // `u8::from_str_radix` reads "+1" as 1: the hand-written decoder turned "%+1" into
        // a control character.
        assert!(decode("ti%+1ger", "password").is_err());
        assert!(Url::parse("postgresql://scott:ti%+1ger@db/app").is_err());
    }

    #[test]
    fn decode_joins_escaped_utf8() {
        assert_eq!(decode("caf%C3%A9", "database").unwrap(), "café");
        assert!(decode("caf%C3", "database").is_err());
    }

    #[test]
    fn encode_keeps_unreserved() {
        let mut s = String::new();
        encode_into("a b/@:~é", COMPONENT, &mut s);
        assert_eq!(s, "a%20b%2F%40%3A~%C3%A9");
        s.clear();
        encode_into("a b/@:", DATABASE_PATH, &mut s);
        assert_eq!(s, "a%20b/%40:");
    }
}
