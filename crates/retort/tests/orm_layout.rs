//! The memory every loaded object carries, kept from growing unnoticed: a relationship field
//! is in every object of its model, so a byte more there is a byte more per row loaded.

#![cfg(target_pointer_width = "64")]

mod common;
mod rel;

use rel::*;
use retort::prelude::*;
use std::mem::size_of;

#[test]
fn a_relationship_field_is_a_lock_a_link_to_its_owner_and_what_it_loaded() {
    // 8 (lock) + 16 (owner) + 8 (index, loader option) + 24 (loaded objects) + 8 (changes,
    // allocated by the first one).
    assert_eq!(size_of::<Many<Book>>(), 64);
    assert_eq!(size_of::<One<Author>>(), 64);
}
