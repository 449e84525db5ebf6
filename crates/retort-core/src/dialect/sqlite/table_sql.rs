//! Reading constraint names and checks out of SQLite's `CREATE TABLE` text, the only place
//! SQLite keeps them.
//!
//! A small tokenizer (quoted identifiers in `""`, `` ` ` `` and `[]`, string literals, comments)
//! splits the table body at its top-level commas; each element is a column definition or a
//! table constraint, scanned for `[CONSTRAINT name] PRIMARY KEY / UNIQUE / CHECK (...) /
//! FOREIGN KEY (...) REFERENCES t (...)` and a column's inline `REFERENCES`. What cannot be
//! understood is skipped: the pragmas remain the source of truth for columns and keys.

/// A constraint found in the table's SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParsedConstraint {
    /// Its name, when given with `CONSTRAINT name`.
    pub name: Option<String>,
    /// What it is.
    pub kind: ParsedKind,
}

/// The kind of a [`ParsedConstraint`], with what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ParsedKind {
    PrimaryKey(Vec<String>),
    Unique(Vec<String>),
    /// The condition's text between the parentheses, as written.
    Check(String),
    ForeignKey {
        columns: Vec<String>,
        referred_table: String,
        /// Empty when the key refers to the other table's primary key implicitly.
        referred_columns: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word: a keyword or an unquoted identifier.
    Word,
    /// A quoted identifier, unescaped.
    Quoted(String),
    /// A string literal or any other character.
    Other,
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Reads a quoted run ending at `close`, a doubled `close` standing for itself.
    let quoted = |i: usize, close: u8| -> (String, usize) {
        let mut text = Vec::new();
        let mut j = i + 1;
        while j < bytes.len() {
            if bytes[j] == close {
                if close != b']' && bytes.get(j + 1) == Some(&close) {
                    text.push(close);
                    j += 2;
                    continue;
                }
                return (String::from_utf8_lossy(&text).into_owned(), j + 1);
            }
            text.push(bytes[j]);
            j += 1;
        }
        (String::from_utf8_lossy(&text).into_owned(), j)
    };
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let tok = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'"' | b'`' | b'[' => {
                let close = match b {
                    b'[' => b']',
                    q => q,
                };
                let (text, end) = quoted(i, close);
                i = end;
                Tok::Quoted(text)
            }
            b'\'' => {
                i = quoted(i, b'\'').1;
                Tok::Other
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                // One character (a whole UTF-8 sequence is consumed by the word branch).
                i += 1;
                Tok::Other
            }
        };
        tokens.push(Token { tok, start, end: i });
    }
    tokens
}

/// The index of the `Close` matching the `Open` at `open`, or the end.
fn matching_close(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The constraints declared in `sql`, a `CREATE TABLE` statement, in order.
pub(super) fn parse_constraints(sql: &str) -> Vec<ParsedConstraint> {
    let tokens = tokenize(sql);
    let Some(open) = tokens.iter().position(|t| t.tok == Tok::Open) else {
        return Vec::new();
    };
    let close = matching_close(&tokens, open);
    let body = tokens.get(open + 1..close).unwrap_or(&[]);
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut element_start = 0;
    for (i, t) in body.iter().enumerate() {
        match t.tok {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Comma if depth == 0 => {
                scan_element(sql, &body[element_start..i], &mut found);
                element_start = i + 1;
            }
            _ => {}
        }
    }
    scan_element(sql, &body[element_start..], &mut found);
    found
}

struct Scanner<'a> {
    sql: &'a str,
    tokens: &'a [Token],
}

impl Scanner<'_> {
    fn keyword(&self, i: usize) -> Option<String> {
        self.tokens
            .get(i)
            .filter(|t| t.tok == Tok::Word)
            .map(|t| self.sql[t.start..t.end].to_ascii_uppercase())
    }

    fn ident(&self, i: usize) -> Option<String> {
        let t = self.tokens.get(i)?;
        match &t.tok {
            Tok::Word => Some(self.sql[t.start..t.end].to_owned()),
            Tok::Quoted(text) => Some(text.clone()),
            _ => None,
        }
    }

    fn is_open(&self, i: usize) -> bool {
        self.tokens.get(i).is_some_and(|t| t.tok == Tok::Open)
    }

    /// The names in the parenthesized list at `open` (the first word of each item, so
    /// `COLLATE` and `ASC` are dropped), and the index after the list.
    fn ident_list(&self, open: usize) -> (Vec<String>, usize) {
        let close = matching_close(self.tokens, open);
        let mut names = Vec::new();
        let mut item_start = true;
        let mut depth = 0usize;
        for i in open + 1..close {
            match self.tokens[i].tok {
                Tok::Open => depth += 1,
                Tok::Close => depth = depth.saturating_sub(1),
                Tok::Comma if depth == 0 => {
                    item_start = true;
                    continue;
                }
                _ => {}
            }
            if item_start {
                names.extend(self.ident(i));
                item_start = false;
            }
        }
        (names, close + 1)
    }
}

fn scan_element(sql: &str, tokens: &[Token], found: &mut Vec<ParsedConstraint>) {
    let s = Scanner { sql, tokens };
    let table_level = matches!(
        s.keyword(0).as_deref(),
        Some("CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN")
    );
    let column = if table_level { None } else { s.ident(0) };
    let mut i = usize::from(!table_level);
    let mut name: Option<String> = None;
    let mut fk_columns: Option<Vec<String>> = None;
    let own_column = || column.iter().cloned().collect::<Vec<_>>();
    while i < tokens.len() {
        let keyword = s.keyword(i);
        let kind = match keyword.as_deref() {
            Some("CONSTRAINT") => {
                name = s.ident(i + 1);
                i += 2;
                continue;
            }
            Some(k @ ("PRIMARY" | "UNIQUE")) => {
                i += if k == "PRIMARY" { 2 } else { 1 };
                let columns = if s.is_open(i) {
                    let (columns, next) = s.ident_list(i);
                    i = next;
                    columns
                } else {
                    own_column()
                };
                if k == "PRIMARY" {
                    ParsedKind::PrimaryKey(columns)
                } else {
                    ParsedKind::Unique(columns)
                }
            }
            Some("CHECK") if s.is_open(i + 1) => {
                let close = matching_close(tokens, i + 1);
                let (Some(open_token), Some(close_token)) = (tokens.get(i + 1), tokens.get(close))
                else {
                    // Unterminated: there is no condition to report.
                    break;
                };
                i = close + 1;
                ParsedKind::Check(sql[open_token.end..close_token.start].trim().to_owned())
            }
            Some("FOREIGN") if s.is_open(i + 2) => {
                let (columns, next) = s.ident_list(i + 2);
                fk_columns = Some(columns);
                i = next;
                continue;
            }
            Some("REFERENCES") => {
                let referred_table = s.ident(i + 1).unwrap_or_default();
                i += 2;
                let referred_columns = if s.is_open(i) {
                    let (columns, next) = s.ident_list(i);
                    i = next;
                    columns
                } else {
                    Vec::new()
                };
                ParsedKind::ForeignKey {
                    columns: fk_columns.take().unwrap_or_else(own_column),
                    referred_table,
                    referred_columns,
                }
            }
            _ => {
                // A name applies to the constraint right after it (`CONSTRAINT n NOT NULL`
                // names nothing kept here); parentheses (a type's length, a default's
                // expression) are skipped whole.
                name = None;
                i = if s.is_open(i) {
                    matching_close(tokens, i) + 1
                } else {
                    i + 1
                };
                continue;
            }
        };
        found.push(ParsedConstraint {
            name: name.take(),
            kind,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, kind: ParsedKind) -> ParsedConstraint {
        ParsedConstraint {
            name: Some(name.into()),
            kind,
        }
    }

    fn unnamed(kind: ParsedKind) -> ParsedConstraint {
        ParsedConstraint { name: None, kind }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn table_level_constraints_with_quoted_names() {
        let sql = "CREATE TABLE \"order items\" (\n  \"id\" INTEGER NOT NULL,\n  \
                   [qty] NUMERIC(10, 2) DEFAULT (1 + 2),\n  \
                   CONSTRAINT \"pk \"\"x\"\"\" PRIMARY KEY (\"id\"),\n  \
                   CONSTRAINT `uq,1` UNIQUE ([qty], \"id\" COLLATE NOCASE DESC),\n  \
                   CONSTRAINT [fk(a)] FOREIGN KEY (\"id\") REFERENCES \"parent\" (\"pid\") \
                   ON DELETE CASCADE\n)";
        assert_eq!(
            parse_constraints(sql),
            [
                named("pk \"x\"", ParsedKind::PrimaryKey(cols(&["id"]))),
                named("uq,1", ParsedKind::Unique(cols(&["qty", "id"]))),
                named(
                    "fk(a)",
                    ParsedKind::ForeignKey {
                        columns: cols(&["id"]),
                        referred_table: "parent".into(),
                        referred_columns: cols(&["pid"]),
                    }
                ),
            ]
        );
    }

    #[test]
    fn checks_keep_their_text_with_nested_parentheses_and_strings() {
        let sql = "CREATE TABLE t (a TEXT CHECK (a IN ('x,y', ')(', 'it''s')), \
                   b INT, CONSTRAINT ck_b CHECK ((b > 0) AND (b < length('a)b'))), \
                   CHECK (b <> 3) -- trailing, comment\n)";
        assert_eq!(
            parse_constraints(sql),
            [
                unnamed(ParsedKind::Check("a IN ('x,y', ')(', 'it''s')".into())),
                named(
                    "ck_b",
                    ParsedKind::Check("(b > 0) AND (b < length('a)b'))".into())
                ),
                unnamed(ParsedKind::Check("b <> 3".into())),
            ]
        );
    }

    #[test]
    fn column_level_constraints() {
        let sql = "CREATE TABLE c (\n  id INTEGER NOT NULL CONSTRAINT pk_c PRIMARY KEY,\n  \
                   code VARCHAR(5) CONSTRAINT nn NOT NULL CONSTRAINT uq_code UNIQUE,\n  \
                   p INTEGER CONSTRAINT fk_p REFERENCES parent ON DELETE SET NULL,\n  \
                   /* a comment, with ( */ q INTEGER REFERENCES \"other\"(\"x\")\n)";
        assert_eq!(
            parse_constraints(sql),
            [
                named("pk_c", ParsedKind::PrimaryKey(cols(&["id"]))),
                named("uq_code", ParsedKind::Unique(cols(&["code"]))),
                named(
                    "fk_p",
                    ParsedKind::ForeignKey {
                        columns: cols(&["p"]),
                        referred_table: "parent".into(),
                        referred_columns: Vec::new(),
                    }
                ),
                unnamed(ParsedKind::ForeignKey {
                    columns: cols(&["q"]),
                    referred_table: "other".into(),
                    referred_columns: cols(&["x"]),
                }),
            ]
        );
    }

    #[test]
    fn unterminated_input_yields_what_it_can() {
        assert_eq!(parse_constraints("CREATE TABLE t"), []);
        assert_eq!(
            parse_constraints("CREATE TABLE t (a INT, CONSTRAINT c CHECK (a > '"),
            []
        );
    }
}
