//! One contract suite for the event-bus port, run against every adapter: the same test
//! functions (in `cases.rs`) against real NATS JetStream and against the embedded SQLite bus,
//! so the adapters cannot drift apart.

mod batch;
mod cases;
mod harness;

/// Runs every named case once per adapter, as `jetstream::<case>` and `embedded::<case>`.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod jetstream {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let fixture = crate::contract::harness::Fixture::jetstream().await?;
                    crate::contract::cases::$case(&fixture).await?;
                    fixture.cleanup().await
                }
            )*
        }
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let fixture = crate::contract::harness::Fixture::embedded().await?;
                    crate::contract::cases::$case(&fixture).await?;
                    fixture.cleanup().await
                }
            )*
        }
    };
}

contract!(
    published_events_are_consumed_in_order_and_acked,
    a_duplicate_id_is_delivered_once,
    a_nakd_event_comes_back_after_its_delay_with_the_next_attempt,
    an_event_never_acked_is_delivered_at_most_max_deliver_times,
    a_termed_event_is_not_delivered_again,
    a_durable_consumer_resumes_where_it_left_off,
    a_deleted_consumer_starts_afresh_under_the_same_name,
    replay_from_the_beginning_sees_everything_and_new_only_sees_new,
    subject_filters_deliver_only_their_subjects,
    a_consumer_that_stops_pulling_holds_a_bounded_number_of_events,
    invalid_specs_are_refused,
    invalid_envelopes_are_refused,
    a_durable_consumer_takes_new_settings_and_keeps_its_position,
    a_pull_cancelled_midway_loses_nothing,
    a_batch_is_published_in_order_and_an_invalid_event_is_refused_alone,
    deliveries_acked_together_are_all_settled,
);
