// What the web player saves of its queue for the caller's other devices (playlist-svc's play
// queue, the one Subsonic apps save): pure, so it is unit-tested on node.

/** Most tracks a saved queue holds (playlist-svc's limit). */
export const MAX_SAVED = 1000;
/** Longest position saved, in ms (playlist-svc's limit: one day). */
const MAX_POSITION_MS = 86_400_000;

/** A queue as `SavePlayQueue` takes it. */
export interface Snapshot {
  trackIds: string[];
  currentIndex?: number;
  positionMs: bigint;
}

/**
 * The queue of `ids` with `index` current, at `position` seconds into it. A queue longer
 * than [`MAX_SAVED`] keeps the window of that many around the current track.
 */
export function snapshot(ids: readonly string[], index: number, position: number): Snapshot {
  let start = 0;
  if (ids.length > MAX_SAVED) {
    const centre = index < 0 ? 0 : index - Math.floor(MAX_SAVED / 2);
    start = Math.min(Math.max(0, centre), ids.length - MAX_SAVED);
  }
  const trackIds = ids.slice(start, start + MAX_SAVED);
  const current = index - start;
  const inside = index >= 0 && current < trackIds.length;
  const ms = Number.isFinite(position) ? Math.round(position * 1000) : 0;
  return {
    trackIds,
    currentIndex: inside ? current : undefined,
    positionMs: BigInt(inside ? Math.min(Math.max(0, ms), MAX_POSITION_MS) : 0),
  };
}
