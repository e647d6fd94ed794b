//! The events crate's outbox table, so playlist changes and their events commit together.

pub fn migration() -> String {
    tunemesh_events::outbox::sqlite::MIGRATION.to_owned()
}
