//! Applies play events in batches: the plays delivered together are planned from their
//! listeners' state, read in one round trip, and applied in one more, whatever their number.
//!
//! A play is planned from its listener's recent plays and version, so two plays of one
//! listener cannot be planned from the same read: a batch goes in rounds, each taking the
//! first pending play of every listener in it (the plays of a stream of many listeners mostly
//! fit in one round). A play whose listener changed since the read (another replica applied
//! one of theirs) is planned again in the next round, before that listener's later plays, so
//! each listener's plays apply in stream order; one that keeps failing fails the listener's
//! later plays of the batch with it, to be redelivered in order.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::{Instrument as _, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tunemesh_events::Envelope;
use tunemesh_events::consumer::{BatchHandler, HandlerError};
use tunemesh_proto::events::v1::PlayEvent;

use super::{CONFLICT_RETRIES, behind, count};
use crate::model::update::plan_listen;
use crate::model::{Listen, ListenKind, ModelParams};
use crate::store::{Applied, RecoStore, StoreError, WriteBatch};

/// Applies play events: plan from the listener's state, apply, plan again on a conflict.
pub(super) struct PlayHandler {
    pub(super) store: Arc<dyn RecoStore>,
    pub(super) params: ModelParams,
    pub(super) consumer: String,
}

/// A play of the batch not applied yet.
struct Pending<'a> {
    /// Its place in the batch.
    index: usize,
    envelope: &'a Envelope,
    listen: Listen,
    /// Continues the trace of the request that caused the play (carried in the event's
    /// headers); open until the play is applied.
    span: Span,
    conflicts: usize,
}

#[async_trait]
impl BatchHandler for PlayHandler {
    async fn handle_batch(&self, envelopes: &[&Envelope]) -> Vec<Result<(), HandlerError>> {
        let mut results: Vec<Option<Result<(), HandlerError>>> =
            envelopes.iter().map(|_| None).collect();
        let mut pending = Vec::new();
        for (index, envelope) in envelopes.iter().copied().enumerate() {
            match self.listen(envelope) {
                Ok(Some(listen)) => pending.push(Pending {
                    index,
                    envelope,
                    listen,
                    span: traced(envelope),
                    conflicts: 0,
                }),
                Ok(None) => {
                    count(&self.consumer, "ignored");
                    results[index] = Some(Ok(()));
                }
                Err(error) => results[index] = Some(Err(error)),
            }
        }
        let mut failed: HashSet<String> = HashSet::new();
        while !pending.is_empty() {
            let (round, mut rest) = first_of_each_listener(pending);
            let outcomes = match self.apply_round(&round).await {
                Ok(outcomes) => outcomes,
                Err(error) => {
                    // The store failed: this round and every play after it go back to the bus.
                    let error = format!("{:#}", anyhow::Error::from(error));
                    for play in round.into_iter().chain(rest) {
                        results[play.index] = Some(Err(retry_later(error.clone())));
                    }
                    break;
                }
            };
            let mut again = Vec::new();
            for (mut play, outcome) in round.into_iter().zip(outcomes) {
                let result = match outcome {
                    Applied::Conflict if play.conflicts + 1 < CONFLICT_RETRIES => {
                        play.conflicts += 1;
                        again.push(play);
                        continue;
                    }
                    Applied::Conflict => {
                        failed.insert(play.listen.user_id.clone());
                        Err(retry_later(format!(
                            "listener {} kept changing while the play was applied",
                            play.listen.user_id
                        )))
                    }
                    Applied::Duplicate => {
                        count(&self.consumer, "duplicate");
                        Ok(())
                    }
                    Applied::Done => {
                        count(&self.consumer, kind(&play.listen));
                        behind(&self.consumer, play.envelope);
                        Ok(())
                    }
                };
                results[play.index] = Some(result);
            }
            // Plays of a listener whose play failed wait for its redelivery, in order.
            rest.retain(|play| {
                let waits = failed.contains(&play.listen.user_id);
                if waits {
                    results[play.index] = Some(Err(retry_later(format!(
                        "an earlier play of listener {} failed",
                        play.listen.user_id
                    ))));
                }
                !waits
            });
            again.append(&mut rest);
            again.sort_by_key(|play| play.index);
            pending = again;
        }
        results
            .into_iter()
            .map(|result| result.unwrap_or(Ok(())))
            .collect()
    }
}

impl PlayHandler {
    /// The play `envelope` carries, or `None` for one the model ignores.
    fn listen(&self, envelope: &Envelope) -> Result<Option<Listen>, HandlerError> {
        let event: PlayEvent = envelope.decode()?;
        Ok(Listen::from_event(
            &event,
            &envelope.id,
            envelope.occurred_at_millis(),
        ))
    }

    /// Plans every play of `round` (one per listener) from one read, applies them in one call.
    async fn apply_round(&self, round: &[Pending<'_>]) -> Result<Vec<Applied>, StoreError> {
        async {
            let users: Vec<&str> = round.iter().map(|p| p.listen.user_id.as_str()).collect();
            let listeners = self
                .store
                .listeners(&users, self.params.recent_size)
                .await?;
            let batches: Vec<WriteBatch> = round
                .iter()
                .zip(&listeners)
                .map(|(play, listener)| {
                    play.span
                        .in_scope(|| plan_listen(&play.listen, listener, &self.params))
                })
                .collect();
            self.store.apply_all(&batches).await
        }
        .instrument(tracing::info_span!("reco.apply_plays", plays = round.len()))
        .await
    }
}

/// The first pending play of each listener (in stream order), and the rest.
fn first_of_each_listener(pending: Vec<Pending<'_>>) -> (Vec<Pending<'_>>, Vec<Pending<'_>>) {
    let mut seen = HashSet::new();
    pending
        .into_iter()
        .partition(|play| seen.insert(play.listen.user_id.clone()))
}

/// The span of one play's application, continuing the trace its event carries.
fn traced(envelope: &Envelope) -> Span {
    let span = tracing::info_span!("reco.apply_play", event_id = %envelope.id);
    // A span that cannot be re-parented only starts its own trace.
    let _ = span.set_parent(envelope.trace_context());
    span
}

fn kind(listen: &Listen) -> &'static str {
    match listen.kind {
        ListenKind::Play { .. } => "play",
        ListenKind::Skip => "skip",
    }
}

/// A failure that may pass: the play goes back to the bus and comes again.
fn retry_later(message: String) -> HandlerError {
    HandlerError::Transient(anyhow::anyhow!(message))
}
