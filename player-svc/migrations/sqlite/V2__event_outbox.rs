//! The events crate's outbox table, so catalogue changes and play events commit with it.

pub fn migration() -> String {
    tunemesh_events::outbox::sqlite::MIGRATION.to_owned()
}
