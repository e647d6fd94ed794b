//! The catalogue's songs, albums and artists for lists of ids (stars, the play queue), a
//! `BatchGet*` per [`BATCH`] ids, a few in flight at once; and the `starred` time of songs.

use futures::{StreamExt as _, TryStreamExt as _};
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::playlist::v1 as pb;

use super::error::SubsonicError;
use super::methods::Ctx;
use super::model::{Child, time};

/// Ids per `BatchGet*`, `Like*` and `CheckLiked*` request (the services' limit).
pub(crate) const BATCH: usize = 100;

/// Catalogue requests of one call in flight at once.
const CONCURRENCY: usize = 4;

async fn track_batch(
    ctx: &Ctx<'_>,
    track_ids: Vec<String>,
) -> Result<Vec<catalog::Track>, SubsonicError> {
    let request = catalog::BatchGetTracksRequest { track_ids };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| {
            c.batch_get_tracks(r).await
        })
        .await?;
    Ok(answer.tracks)
}

async fn album_batch(
    ctx: &Ctx<'_>,
    album_ids: Vec<String>,
) -> Result<Vec<catalog::Album>, SubsonicError> {
    let request = catalog::BatchGetAlbumsRequest { album_ids };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| {
            c.batch_get_albums(r).await
        })
        .await?;
    Ok(answer.albums)
}

async fn artist_batch(
    ctx: &Ctx<'_>,
    artist_ids: Vec<String>,
) -> Result<Vec<catalog::Artist>, SubsonicError> {
    let request = catalog::BatchGetArtistsRequest { artist_ids };
    let answer = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| {
            c.batch_get_artists(r).await
        })
        .await?;
    Ok(answer.artists)
}

/// Runs `calls` (one per batch), [`CONCURRENCY`] at a time; their answers in order.
async fn batched<T, F>(calls: Vec<F>) -> Result<Vec<T>, SubsonicError>
where
    F: Future<Output = Result<Vec<T>, SubsonicError>>,
{
    let answers: Vec<Vec<T>> = futures::stream::iter(calls)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(answers.into_iter().flatten().collect())
}

/// The catalogue's tracks for `ids` (in order, a batch at a time), without those it no longer
/// has.
pub(crate) async fn tracks(
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<catalog::Track>, SubsonicError> {
    let calls: Vec<_> = (ids.chunks(BATCH))
        .map(|batch| track_batch(ctx, batch.to_vec()))
        .collect();
    batched(calls).await
}

pub(crate) async fn albums(
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<catalog::Album>, SubsonicError> {
    let calls: Vec<_> = (ids.chunks(BATCH))
        .map(|batch| album_batch(ctx, batch.to_vec()))
        .collect();
    batched(calls).await
}

pub(crate) async fn artists(
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<catalog::Artist>, SubsonicError> {
    let calls: Vec<_> = (ids.chunks(BATCH))
        .map(|batch| artist_batch(ctx, batch.to_vec()))
        .collect();
    batched(calls).await
}

/// Sets `starred` on every song the caller likes (a `CheckLikedTracks` per batch).
pub(crate) async fn mark_starred(ctx: &Ctx<'_>, songs: &mut [Child]) -> Result<(), SubsonicError> {
    for batch in songs.chunks_mut(BATCH) {
        let request = pb::CheckLikedTracksRequest {
            track_ids: batch.iter().map(|s| s.id.clone()).collect(),
        };
        let answer = (ctx.state.playlists())
            .call(ctx.identity(), request, async |c, r| {
                c.check_liked_tracks(r).await
            })
            .await?;
        for ((song, liked), at) in batch.iter_mut().zip(answer.liked).zip(answer.like_times) {
            if liked {
                song.starred = time(Some(&at));
            }
        }
    }
    Ok(())
}
