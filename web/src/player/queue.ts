// The play queue: an ordered list of tracks and the one playing, with next and previous.

import type { Context } from "./reporter";
import type { QueueTrack } from "./track";

/** A queue entry: the track and where it was queued from (for play reports). */
export interface Entry {
  track: QueueTrack;
  context: Context | null;
}

/** Tracks to play, in order. */
export class Queue extends EventTarget {
  private entries: Entry[] = [];
  private index = -1;

  /** All entries, in order. */
  get items(): readonly Entry[] {
    return this.entries;
  }

  /** Position of the current entry, -1 when none. */
  get position(): number {
    return this.index;
  }

  /** The entry playing now. */
  get current(): Entry | null {
    return this.entries[this.index] ?? null;
  }

  /** Replaces the queue with `tracks` and makes `start` current. */
  replace(tracks: QueueTrack[], start: number, context: Context | null): Entry | null {
    this.entries = tracks.map((track) => ({ track, context }));
    this.index = tracks.length === 0 ? -1 : Math.min(Math.max(0, start), tracks.length - 1);
    this.changed();
    return this.current;
  }

  /** Adds tracks at the end. */
  add(tracks: QueueTrack[], context: Context | null): void {
    this.entries.push(...tracks.map((track) => ({ track, context })));
    if (this.index < 0 && this.entries.length > 0) this.index = 0;
    this.changed();
  }

  /** Removes the entry at `position` (not the one playing). */
  remove(position: number): void {
    if (position === this.index || position < 0 || position >= this.entries.length) return;
    this.entries.splice(position, 1);
    if (position < this.index) this.index -= 1;
    this.changed();
  }

  /** Moves to `position` and returns that entry. */
  jump(position: number): Entry | null {
    if (position < 0 || position >= this.entries.length) return null;
    this.index = position;
    this.changed();
    return this.current;
  }

  /** Moves to the next entry, if any. */
  next(): Entry | null {
    return this.jump(this.index + 1);
  }

  /** Moves to the previous entry, if any. */
  previous(): Entry | null {
    return this.jump(this.index - 1);
  }

  private changed(): void {
    this.dispatchEvent(new Event("change"));
  }
}
