//! A revision: one step of the schema's history, as a revision file declares it.

use crate::ops::{Operation, Ops};

/// One revision: its id, its parent(s), its message and the two functions that record its
/// operations. A revision file declares one as a constant:
///
/// ```
/// use retort_core::schema::Column;
/// use retort_core::types::SqlType;
/// use retort_migrate::{Ops, Revision};
///
/// pub const REVISION: Revision = Revision {
///     id: "3f9a2c1b7d4e",
///     down_revisions: &[],
///     message: "add a nickname to users",
///     upgrade,
///     downgrade,
/// };
///
/// fn upgrade(op: &mut Ops) {
///     op.add_column("users", Column::new("nickname", SqlType::string(50)));
/// }
///
/// fn downgrade(op: &mut Ops) {
///     op.drop_column("users", "nickname");
/// }
///
/// assert_eq!(REVISION.upgrade_operations().len(), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Revision {
    /// The revision's id: unique within the folder.
    pub id: &'static str,
    /// The revisions it follows: none for the first, two or more for a merge.
    pub down_revisions: &'static [&'static str],
    /// What the revision does, as given to `revision -m`.
    pub message: &'static str,
    /// Records the operations that apply the revision.
    pub upgrade: fn(&mut Ops),
    /// Records the operations that undo it.
    pub downgrade: fn(&mut Ops),
}

impl Revision {
    /// The operations of `upgrade`.
    pub fn upgrade_operations(&self) -> Vec<Operation> {
        let mut ops = Ops::new();
        (self.upgrade)(&mut ops);
        ops.into_operations()
    }

    /// The operations of `downgrade`.
    pub fn downgrade_operations(&self) -> Vec<Operation> {
        let mut ops = Ops::new();
        (self.downgrade)(&mut ops);
        ops.into_operations()
    }
}
