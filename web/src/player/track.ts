// The little the player needs to know about a track, whichever view it came from
// (catalogue, search results, playlists and recommendations all name tracks differently).

import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Track } from "../gen/tunemesh/catalog/v1/track_pb";
import type { TrackSummary } from "../gen/tunemesh/search/v1/search_service_pb";
import { catalog } from "../api/clients";
import type { ImageRef } from "../ui/cover";

/** A playable track as the queue and the views show it. */
export interface QueueTrack {
  id: string;
  title: string;
  artist: string;
  album: string;
  /** Length in seconds (0 when unknown). */
  duration: number;
  /** The album cover, when there is one. */
  cover?: ImageRef;
}

/** Seconds of a protobuf `Duration`. */
export function seconds(duration: Duration | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds) + duration.nanos / 1e9;
}

/** A protobuf `Duration` init of `value` seconds. */
export function durationOf(value: number): { seconds: bigint; nanos: number } {
  const safe = Math.max(0, value);
  const whole = Math.floor(safe);
  return { seconds: BigInt(whole), nanos: Math.round((safe - whole) * 1e9) };
}

/** A catalogue track or a search hit as a queue entry. */
export function fromTrack(track: Track | TrackSummary): QueueTrack {
  return {
    id: track.id,
    title: track.title,
    artist: track.artists.map((artist) => artist.name).join(", "),
    album: track.album?.title ?? "",
    duration: seconds(track.duration),
    cover: track.cover?.id ? { id: track.cover.id, url: track.cover.url } : undefined,
  };
}

/** Looks up ids (from playlists and recommendations) in the catalogue, keeping their order. */
export async function tracksByIds(ids: string[]): Promise<QueueTrack[]> {
  if (ids.length === 0) return [];
  const found = new Map<string, QueueTrack>();
  // The catalogue answers batches of up to 100 ids.
  for (let start = 0; start < ids.length; start += 100) {
    const response = await catalog.batchGetTracks({ trackIds: ids.slice(start, start + 100) });
    for (const track of response.tracks) found.set(track.id, fromTrack(track));
  }
  return ids.flatMap((id) => found.get(id) ?? []);
}

/** `m:ss`. */
export function clock(value: number): string {
  if (!Number.isFinite(value) || value < 0) value = 0;
  const minutes = Math.floor(value / 60);
  const rest = Math.floor(value % 60);
  return `${minutes}:${rest.toString().padStart(2, "0")}`;
}
