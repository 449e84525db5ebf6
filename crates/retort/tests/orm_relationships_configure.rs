//! The configure step: relationships that cannot be resolved are errors naming the model and
//! the field, raised when the model is first used (here, when its registry entry is made).
//! These models are deliberately broken, so they live in a test binary of their own.

use retort::orm::{Many, Model, One, Registry};
use retort::prelude::*;

#[derive(Model, Debug, Default)]
#[retort(table = "people")]
pub struct Person {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(back_populates = "sender", foreign_keys = "sender_id"))]
    pub sent: Many<Message>,
    #[retort(relationship(back_populates = "missing", foreign_keys = "recipient_id"))]
    pub received: Many<Message>,
}

/// Two foreign keys to `people`: a relationship must say which one it follows.
#[derive(Model, Debug, Default)]
#[retort(table = "messages")]
pub struct Message {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "people.id")]
    pub sender_id: Option<i64>,
    #[retort(foreign_key = "people.id")]
    pub recipient_id: Option<i64>,
    #[retort(relationship(back_populates = "sent", foreign_keys = "sender_id"))]
    pub sender: One<Person>,
    #[retort(relationship)]
    pub recipient: One<Person>,
}

/// No foreign key between `islands` and `people`.
#[derive(Model, Debug, Default)]
#[retort(table = "islands")]
pub struct Island {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship)]
    pub people: Many<Person>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "shelves")]
pub struct Shelf {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(secondary = "no_such_table"))]
    pub items: Many<Island>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "docks")]
pub struct Dock {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(order_by = "colour"))]
    pub boats: Many<Boat>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "boats")]
pub struct Boat {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(foreign_key = "docks.id")]
    pub dock_id: Option<i64>,
}

fn error_of(result: Result<impl Sized>) -> String {
    match result {
        Ok(_) => panic!("the configure step accepted a broken relationship"),
        Err(err) => {
            assert!(matches!(err, Error::Argument(_)), "{err:?}");
            let message = err.to_string();
            assert_eq!(message.matches("ArgumentError").count(), 1, "{message}");
            message
        }
    }
}

#[test]
fn a_missing_back_populates_partner_is_named() {
    let message = error_of(Person::mapper().relationships());
    assert!(message.contains("Person.received"), "{message}");
    assert!(
        message.contains("back_populates names `missing`"),
        "{message}"
    );
    assert!(message.contains("Message has no relationship"), "{message}");
    let message = error_of(Registry::new().register::<Person>());
    assert!(message.contains("Person.received"), "{message}");
}

#[test]
fn two_foreign_key_paths_are_ambiguous_unless_one_is_named() {
    let message = error_of(Message::mapper().relationships());
    assert!(message.contains("Message.recipient"), "{message}");
    assert!(message.contains("more than one foreign key"), "{message}");
    assert!(
        message.contains("sender_id") && message.contains("recipient_id"),
        "{message}"
    );
    assert!(message.contains("foreign_keys"), "{message}");
}

#[test]
fn no_foreign_key_path_is_named() {
    let message = error_of(Island::mapper().relationships());
    assert!(message.contains("Island.people"), "{message}");
    assert!(
        message.contains("no foreign key joins islands and people"),
        "{message}"
    );
}

#[test]
fn an_unknown_association_table_or_order_by_column_is_named() {
    let message = error_of(Shelf::mapper().relationships());
    assert!(message.contains("Shelf.items"), "{message}");
    assert!(message.contains("no_such_table"), "{message}");
    let message = error_of(Dock::mapper().relationships());
    assert!(message.contains("Dock.boats"), "{message}");
    assert!(
        message.contains("`colour`, which is not a column of Boat"),
        "{message}"
    );
}

#[test]
fn foreign_keys_picks_one_of_two_paths() {
    // `Message.sender` names its column; it resolves although `recipient` does not.
    let props = Message::mapper().relationship_properties();
    assert_eq!(props[0].foreign_keys, vec!["sender_id"]);
    let message = error_of(Message::mapper().relationship("sender"));
    // The model as a whole fails to configure, naming the broken relationship only.
    assert!(message.contains("Message.recipient"), "{message}");
    assert!(!message.contains("Message.sender:"), "{message}");
}
