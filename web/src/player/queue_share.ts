// Shares the play queue with the caller's other devices through playlist-svc (the queue
// Subsonic apps save with `savePlayQueue` and read with `getPlayQueue`): saves it a moment
// after it changes, when playback pauses and every 30 s while playing; at sign-in, restores
// a queue saved elsewhere into an empty player, paused where it stopped. Sharing never gets
// in the way of playing: its failures are logged, not shown.

import { playlists } from "../api/clients";
import type { Player } from "./controller";
import { snapshot } from "./queue_snapshot";
import { tracksByIds } from "./track";

/** Wait after a change before saving, so a burst of edits is one save. */
const SAVE_DELAY_MS = 2000;
/** Position saves while playing. */
const PLAYING_SAVE_MS = 30_000;

/** What `shareQueue` gives the app. */
export interface QueueShare {
  /** Loads the queue saved elsewhere into the player, if it is empty. */
  restore(): Promise<void>;
}

/** Saves `player`'s queue as it changes; see the file comment. */
export function shareQueue(player: Player): QueueShare {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Nothing is saved until the listener changed the queue here: opening the web player
  // must not clear a queue an app saved.
  let touched = false;
  let restoring = false;

  const save = async () => {
    timer = undefined;
    const ids = player.queue.items.map((entry) => entry.track.id);
    const request = snapshot(ids, player.queue.position, player.audio.currentTime);
    try {
      await playlists.savePlayQueue({ ...request, clientName: "web" });
    } catch (error) {
      console.warn("the play queue was not saved", error);
    }
  };
  const later = () => {
    if (!touched) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => void save(), SAVE_DELAY_MS);
  };

  player.queue.addEventListener("change", () => {
    if (restoring) return;
    touched = true;
    later();
  });
  player.audio.addEventListener("pause", later);
  setInterval(() => {
    if (touched && !player.audio.paused) void save();
  }, PLAYING_SAVE_MS);

  return {
    async restore() {
      if (player.queue.items.length > 0) return;
      try {
        const { queue } = await playlists.getPlayQueue({});
        if (!queue || queue.trackIds.length === 0 || player.queue.items.length > 0) return;
        const current = queue.currentIndex === undefined ? undefined : queue.trackIds[queue.currentIndex];
        // Tracks the catalogue lost drop out; the current one is found again by its place.
        const tracks = await tracksByIds(queue.trackIds);
        if (player.queue.items.length > 0 || tracks.length === 0) return;
        const found = new Set(tracks.map((track) => track.id));
        const before = queue.trackIds.slice(0, queue.currentIndex ?? 0);
        const lost = before.filter((id) => !found.has(id)).length;
        const start = current === undefined ? 0 : Math.max(0, (queue.currentIndex ?? 0) - lost);
        const position = current === undefined ? 0 : Number(queue.positionMs) / 1000;
        restoring = true;
        try {
          player.cue(tracks, start, position);
        } finally {
          restoring = false;
        }
      } catch (error) {
        console.warn("the saved play queue was not restored", error);
      }
    },
  };
}
