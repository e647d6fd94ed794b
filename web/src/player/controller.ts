// The player as the views use it: a queue, MSE playback of its current entry and the play
// reports, kept in step (a new track ends the old session as skipped, the end of a track
// moves on to the next).

import { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";
import { PlaybackEndReason } from "../gen/tunemesh/player/v1/playback_pb";
import { describeError } from "../api/clients";
import { Engine } from "./engine";
import { Queue, type Entry } from "./queue";
import { Reporter, type Context } from "./reporter";
import type { QueueTrack } from "./track";

/** Plays the queue on one `<audio>` element. */
export class Player extends EventTarget {
  readonly queue = new Queue();
  readonly engine: Engine;
  readonly reporter: Reporter;
  /** The last playback error, shown to the listener. */
  error = "";
  /** A current entry not loaded yet (a restored queue) and where it is to start, in s. */
  private cued: { entry: Entry; at: number } | null = null;

  constructor(readonly audio: HTMLAudioElement) {
    super();
    this.engine = new Engine(audio);
    this.reporter = new Reporter(audio, () => this.engine.status().playing ?? this.engine.status().loading);
    audio.addEventListener("ended", () => void this.next(false));
    this.engine.addEventListener("trouble", (event) => {
      this.error = describeError((event as CustomEvent).detail);
      this.changed();
    });
  }

  /** Replaces the queue with `tracks` and plays the one at `start`. */
  async playList(tracks: QueueTrack[], start: number, context: Context | null): Promise<void> {
    const entry = this.queue.replace(tracks, start, context);
    if (entry) await this.start(entry);
  }

  /** Replaces the queue without playing: play starts the entry at `start`, `at` s in. */
  cue(tracks: QueueTrack[], start: number, at: number): void {
    const entry = this.queue.replace(tracks, start, null);
    this.cued = entry ? { entry, at } : null;
    this.changed();
  }

  /** Plays the queue entry at `position`. */
  async jump(position: number): Promise<void> {
    const entry = this.queue.jump(position);
    if (entry) await this.start(entry);
  }

  /** Pauses or resumes. */
  async toggle(): Promise<void> {
    if (!this.queue.current) return;
    if (this.cued?.entry === this.queue.current) {
      const { entry, at } = this.cued;
      await this.start(entry, at);
      return;
    }
    if (this.audio.paused) await this.audio.play().catch((error) => this.fail(error));
    else this.audio.pause();
  }

  /** Next entry; `skipped` when the listener asked (not when the track ended). */
  async next(skipped = true): Promise<void> {
    if (skipped) this.reporter.end(PlaybackEndReason.SKIPPED);
    const entry = this.queue.next();
    if (entry) await this.start(entry);
  }

  /** Back to the start of the track, or to the previous one within its first 3 s. */
  async previous(): Promise<void> {
    if (this.audio.currentTime > 3 || this.queue.position <= 0) {
      this.seek(0);
      return;
    }
    this.reporter.end(PlaybackEndReason.SKIPPED);
    const entry = this.queue.previous();
    if (entry) await this.start(entry);
  }

  /** Moves the playhead to `time` seconds. */
  seek(time: number): void {
    if (!this.queue.current) return;
    const duration = Number.isFinite(this.audio.duration) ? this.audio.duration : time;
    this.audio.currentTime = Math.max(0, Math.min(time, Math.max(0, duration - 0.1)));
  }

  /** Sets the quality by hand; `null` goes back to automatic. */
  setQuality(quality: AudioQuality | null): void {
    this.engine.setManual(quality);
    this.changed();
  }

  private async start(entry: Entry, at = 0): Promise<void> {
    this.cued = null;
    this.error = "";
    this.reporter.begin(entry.track.id, entry.context);
    this.changed();
    try {
      await this.engine.load(entry.track.id);
      if (this.queue.current !== entry) return;
      if (at > 0) this.seek(at);
      await this.audio.play();
    } catch (error) {
      if (this.queue.current === entry) this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.error = describeError(error);
    this.changed();
  }

  private changed(): void {
    this.dispatchEvent(new Event("change"));
  }
}
