//! create users and posts
//!
//! Revision ID: 81e4fca948f1
//! Revises: <base>
//! Create Date: 2026-12-01 04:04:21 UTC

use retort_migrate::prelude::*;

pub const REVISION: Revision = Revision {
    id: "81e4fca948f1",
    down_revisions: &[],
    message: "create users and posts",
    upgrade,
    downgrade,
};

fn upgrade(op: &mut Ops) {
    op.create_table(
        TableDef::new("users")
            .column(Column::new("id", SqlType::BigInteger).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null())
            .column(Column::new("email", SqlType::string(120)))
            .constraint(UniqueConstraint::new(["email"])),
    );
    op.create_table(
        TableDef::new("posts")
            .column(Column::new("id", SqlType::BigInteger).primary_key())
            .column(Column::new("user_id", SqlType::BigInteger))
            .column(Column::new("title", SqlType::string(200)).not_null())
            .constraint(
                ForeignKeyConstraint::new(["user_id"], "users", ["id"])
                    .on_delete(ReferentialAction::Cascade),
            )
            .index(Index::new("ix_posts_user_id", ["user_id"])),
    );
}

fn downgrade(op: &mut Ops) {
    // DESTRUCTIVE: drops table posts and every row in it.
    op.drop_table("posts");
    // DESTRUCTIVE: drops table users and every row in it.
    op.drop_table("users");
}
