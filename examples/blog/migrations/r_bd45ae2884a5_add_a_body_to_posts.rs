//! add a body to posts
//!
//! Revision ID: bd45ae2884a5
//! Revises: 81e4fca948f1
//! Create Date: 2026-12-01 04:04:26 UTC

use retort_migrate::prelude::*;

pub const REVISION: Revision = Revision {
    id: "bd45ae2884a5",
    down_revisions: &["81e4fca948f1"],
    message: "add a body to posts",
    upgrade,
    downgrade,
};

fn upgrade(op: &mut Ops) {
    op.add_column("posts", Column::new("body", SqlType::String(None)));
}

fn downgrade(op: &mut Ops) {
    // DESTRUCTIVE: drops column posts.body and its values.
    op.drop_column("posts", "body");
}
