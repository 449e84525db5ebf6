//! Writing operations as Rust source, for the bodies of generated revision files.
//!
//! The code uses the names of `retort_migrate::prelude`, one statement per operation:
//!
//! ```
//! use retort_core::dialect::sqlite::SqliteDialect;
//! use retort_core::schema::Column;
//! use retort_core::types::SqlType;
//! use retort_migrate::autogenerate::Step;
//! use retort_migrate::codegen::steps_source;
//! use retort_migrate::Operation;
//!
//! let step = Step {
//!     op: Operation::AddColumn {
//!         table: "users".into(),
//!         column: Column::new("nickname", SqlType::string(50)).not_null(),
//!     },
//!     note: None,
//!     commented_out: false,
//! };
//! assert_eq!(
//!     steps_source(&SqliteDialect, &[step])?,
//!     "op.add_column(\"users\", Column::new(\"nickname\", SqlType::string(50)).not_null());\n"
//! );
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::fmt::Write;

use retort_core::dialect::Dialect;
use retort_core::schema::{
    CheckConstraint, Column, Constraint, ConstraintKind, ForeignKeyConstraint, Index,
    PrimaryKeyConstraint, ReferentialAction, ServerDefault, UniqueConstraint,
};
use retort_core::types::SqlType;
use retort_core::value::Value;
use retort_core::{Error, Result};

use crate::autogenerate::Step;
use crate::ops::{AlterColumn, Operation, TableDef, TableName};

const INDENT: &str = "    ";

/// The body of an `upgrade` or `downgrade` function holding `steps`, one statement per line,
/// unindented (the revision file indents it); empty when there are none.
pub fn steps_source(d: &dyn Dialect, steps: &[Step]) -> Result<String> {
    let mut out = String::new();
    for step in steps {
        if let Some(note) = &step.note {
            for line in wrap(note, 92) {
                let _ = writeln!(out, "// {line}");
            }
        }
        let code = operation_source(d, &step.op)?;
        for line in code.lines() {
            if step.commented_out {
                let _ = writeln!(out, "// {line}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    Ok(out)
}

/// One operation as a Rust statement (`op.…;`), possibly over several lines.
pub fn operation_source(d: &dyn Dialect, op: &Operation) -> Result<String> {
    Ok(format!("op{};", call(d, op, "", false)?))
}

/// The method call recording `op`, starting with `.`; `continuation` indents the lines after
/// the first. Inside a batch (`batched`) the calls name no table: the batch's is implied.
fn call(d: &dyn Dialect, op: &Operation, continuation: &str, batched: bool) -> Result<String> {
    let on = |table: &TableName, rest: String| {
        if batched {
            rest
        } else {
            format!("{}, {rest}", table_name(table))
        }
    };
    Ok(match op {
        Operation::CreateTable(def) => {
            format!(
                ".create_table(\n{continuation}{INDENT}{},\n{continuation})",
                table_def(d, def, &format!("{continuation}{INDENT}{INDENT}"))?
            )
        }
        Operation::DropTable(table) => format!(".drop_table({})", table_name(table)),
        Operation::RenameTable { table, new_name } => {
            format!(".rename_table({}, {})", table_name(table), lit(new_name))
        }
        Operation::AddColumn { table, column } => {
            format!(".add_column({})", on(table, column_source(d, column)?))
        }
        Operation::DropColumn { table, column } => {
            format!(".drop_column({})", on(table, lit(column)))
        }
        Operation::AlterColumn(alter) => format!(
            ".alter_column({}){}",
            on(&alter.table, lit(&alter.column)),
            alter_source(d, alter)?
        ),
        Operation::CreateIndex { table, index } => {
            format!(".create_index({})", on(table, index_source(index)))
        }
        Operation::DropIndex { table, name } => format!(".drop_index({})", on(table, lit(name))),
        Operation::AddConstraint { table, constraint } => {
            let (method, source) = match constraint {
                Constraint::Unique(u) => ("create_unique_constraint", unique_source(u)),
                Constraint::Check(ck) => ("create_check_constraint", check_source(ck)),
                Constraint::ForeignKey(fk) => ("create_foreign_key", foreign_key_source(fk)),
                Constraint::PrimaryKey(pk) => ("add_constraint", primary_key_source(pk)),
            };
            let method = if batched { "add_constraint" } else { method };
            format!(".{method}({})", on(table, source))
        }
        Operation::DropConstraint { table, name, kind } => format!(
            ".drop_constraint({})",
            on(
                table,
                format!("{}, ConstraintKind::{}", lit(name), kind_source(*kind))
            )
        ),
        Operation::Execute(sql) => format!(".execute({})", lit(sql)),
        Operation::Batch { table, ops } if !batched => {
            let mut body = String::new();
            for inner in ops {
                let inner = call(d, inner, &format!("{continuation}{INDENT}"), true)?;
                let _ = writeln!(body, "{continuation}{INDENT}batch{inner};");
            }
            format!(
                ".batch_alter_table({}, |batch| {{\n{body}{continuation}}})",
                table_name(table)
            )
        }
        other => {
            return Err(Error::InvalidRequest(format!(
                "no Rust source form for the operation {other:?}{}",
                if batched { " inside a batch" } else { "" }
            )))
        }
    })
}

fn table_def(d: &dyn Dialect, def: &TableDef, indent: &str) -> Result<String> {
    let mut out = format!("TableDef::new({})", table_name(&def.name));
    let mut part = |text: String| {
        let _ = write!(out, "\n{indent}{text}");
    };
    for column in &def.columns {
        part(format!(".column({})", column_source(d, column)?));
    }
    for constraint in &def.constraints {
        let source = match constraint {
            Constraint::PrimaryKey(pk) => primary_key_source(pk),
            Constraint::Unique(u) => unique_source(u),
            Constraint::Check(ck) => check_source(ck),
            Constraint::ForeignKey(fk) => foreign_key_source(fk),
        };
        part(format!(".constraint({source})"));
    }
    for index in &def.indexes {
        part(format!(".index({})", index_source(index)));
    }
    if let Some(comment) = &def.comment {
        part(format!(".comment({})", lit(comment)));
    }
    Ok(out)
}

fn table_name(table: &TableName) -> String {
    match &table.schema {
        Some(schema) => format!(
            "TableName::new({}).in_schema({})",
            lit(&table.name),
            lit(schema)
        ),
        None => lit(&table.name),
    }
}

fn column_source(d: &dyn Dialect, c: &Column) -> Result<String> {
    let mut out = format!(
        "Column::new({}, {})",
        lit(c.name()),
        sql_type(c.sql_type())?
    );
    if c.is_primary_key() {
        out.push_str(".primary_key()");
    } else if !c.is_nullable() {
        out.push_str(".not_null()");
    }
    if let Some(default) = c.get_server_default() {
        let _ = write!(out, ".server_default({})", server_default(d, default)?);
    }
    if let Some(autoincrement) = c.get_autoincrement() {
        let _ = write!(out, ".autoincrement({autoincrement})");
    }
    if let Some(comment) = c.get_comment() {
        let _ = write!(out, ".comment({})", lit(comment));
    }
    Ok(out)
}

fn alter_source(d: &dyn Dialect, a: &AlterColumn) -> Result<String> {
    let mut out = String::new();
    if let Some(name) = &a.new_name {
        let _ = write!(out, ".rename_to({})", lit(name));
    }
    if let Some(ty) = &a.sql_type {
        let _ = write!(out, ".sql_type({})", sql_type(ty)?);
    }
    if let Some(nullable) = a.nullable {
        let _ = write!(out, ".nullable({nullable})");
    }
    match &a.server_default {
        Some(Some(default)) => {
            let _ = write!(out, ".server_default({})", server_default(d, default)?);
        }
        Some(None) => out.push_str(".drop_server_default()"),
        None => {}
    }
    if let Some(ty) = &a.existing_type {
        let _ = write!(out, ".existing_type({})", sql_type(ty)?);
    }
    if let Some(nullable) = a.existing_nullable {
        let _ = write!(out, ".existing_nullable({nullable})");
    }
    match &a.existing_server_default {
        Some(Some(default)) => {
            let _ = write!(
                out,
                ".existing_server_default(Some({}))",
                server_default(d, default)?
            );
        }
        Some(None) => out.push_str(".existing_server_default(None)"),
        None => {}
    }
    Ok(out)
}

fn sql_type(ty: &SqlType) -> Result<String> {
    Ok(match ty {
        SqlType::Integer => "SqlType::Integer".into(),
        SqlType::SmallInteger => "SqlType::SmallInteger".into(),
        SqlType::BigInteger => "SqlType::BigInteger".into(),
        SqlType::Float => "SqlType::Float".into(),
        SqlType::Double => "SqlType::Double".into(),
        SqlType::Numeric {
            precision: Some(p),
            scale: Some(s),
        } => format!("SqlType::numeric({p}, {s})"),
        SqlType::Numeric { precision, scale } => {
            format!("SqlType::Numeric {{ precision: {precision:?}, scale: {scale:?} }}")
        }
        SqlType::String(Some(n)) => format!("SqlType::string({n})"),
        SqlType::String(None) => "SqlType::String(None)".into(),
        SqlType::Text => "SqlType::Text".into(),
        SqlType::Boolean => "SqlType::Boolean".into(),
        SqlType::Date => "SqlType::Date".into(),
        SqlType::Time => "SqlType::Time".into(),
        SqlType::DateTime { timezone } => format!("SqlType::DateTime {{ timezone: {timezone} }}"),
        SqlType::LargeBinary => "SqlType::LargeBinary".into(),
        SqlType::Json => "SqlType::Json".into(),
        SqlType::Uuid => "SqlType::Uuid".into(),
        SqlType::Enum { name, variants } => format!(
            "SqlType::enumeration({}, [{}])",
            lit(name),
            variants
                .iter()
                .map(|v| lit(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SqlType::Custom(sql) => format!("SqlType::Custom({}.into())", lit(sql)),
        other => {
            return Err(Error::InvalidRequest(format!(
                "no Rust source form for the type {other:?}"
            )))
        }
    })
}

fn server_default(d: &dyn Dialect, default: &ServerDefault) -> Result<String> {
    Ok(match default {
        ServerDefault::Text(sql) => format!("ServerDefault::text({})", lit(sql)),
        ServerDefault::Value(Value::Int(i)) => format!("ServerDefault::value({i}i64)"),
        ServerDefault::Value(Value::Bool(b)) => format!("ServerDefault::value({b})"),
        ServerDefault::Value(Value::Text(s)) => format!("ServerDefault::value({})", lit(s)),
        ServerDefault::Value(Value::Float(f)) if f.is_finite() => {
            format!("ServerDefault::value({f:?}f64)")
        }
        // Other values have no short literal form: the dialect's SQL for them is the default.
        ServerDefault::Value(v) => {
            let mut sql = String::new();
            d.default_literal(d, v, &mut sql)?;
            format!("ServerDefault::text({})", lit(&sql))
        }
    })
}

fn names(columns: &[std::sync::Arc<str>]) -> String {
    let quoted: Vec<String> = columns.iter().map(|c| lit(c)).collect();
    format!("[{}]", quoted.join(", "))
}

fn named(name: Option<&str>) -> String {
    name.map(|n| format!(".named({})", lit(n)))
        .unwrap_or_default()
}

fn primary_key_source(pk: &PrimaryKeyConstraint) -> String {
    format!(
        "PrimaryKeyConstraint::new({}){}",
        names(pk.columns()),
        named(pk.name())
    )
}

fn unique_source(u: &UniqueConstraint) -> String {
    format!(
        "UniqueConstraint::new({}){}",
        names(u.columns()),
        named(u.name())
    )
}

fn check_source(ck: &CheckConstraint) -> String {
    format!(
        "CheckConstraint::new({}){}",
        lit(ck.sqltext()),
        named(ck.name())
    )
}

fn foreign_key_source(fk: &ForeignKeyConstraint) -> String {
    let mut out = format!(
        "ForeignKeyConstraint::new({}, {}, {})",
        names(fk.columns()),
        lit(fk.referred_table()),
        names(fk.referred_columns())
    );
    if let Some(schema) = fk.get_referred_schema() {
        let _ = write!(out, ".referred_schema({})", lit(schema));
    }
    out.push_str(&named(fk.name()));
    if let Some(action) = fk.ondelete() {
        let _ = write!(out, ".on_delete({})", action_source(action));
    }
    if let Some(action) = fk.onupdate() {
        let _ = write!(out, ".on_update({})", action_source(action));
    }
    if fk.is_use_alter() {
        out.push_str(".use_alter()");
    }
    out
}

fn index_source(index: &Index) -> String {
    let head = match index.name() {
        Some(name) => format!("Index::new({}, {})", lit(name), names(index.columns())),
        None => format!("Index::on({})", names(index.columns())),
    };
    if index.is_unique() {
        format!("{head}.unique()")
    } else {
        head
    }
}

fn action_source(action: ReferentialAction) -> &'static str {
    match action {
        ReferentialAction::Cascade => "ReferentialAction::Cascade",
        ReferentialAction::SetNull => "ReferentialAction::SetNull",
        ReferentialAction::SetDefault => "ReferentialAction::SetDefault",
        ReferentialAction::Restrict => "ReferentialAction::Restrict",
        ReferentialAction::NoAction => "ReferentialAction::NoAction",
    }
}

fn kind_source(kind: ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::Index => "Index",
        ConstraintKind::Unique => "Unique",
        ConstraintKind::Check => "Check",
        ConstraintKind::ForeignKey => "ForeignKey",
        ConstraintKind::PrimaryKey => "PrimaryKey",
    }
}

/// A Rust string literal holding `s` (Rust's own escaping of a `str`'s debug form).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// Splits a note into comment lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}
