// Play reporting: one play session per track played, reported to PlayerService.ReportPlayback
// on start, pause, resume, seek, every 20 s while playing, and at the end (completed or
// skipped). The server counts a play after 30 s heard, so `played` counts only audio that
// actually played, not seeks over it.

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";
import {
  PlaybackEndReason,
  PlaybackState,
  type PlayContextType,
} from "../gen/tunemesh/player/v1/playback_pb";
import { player } from "../api/clients";
import { durationOf } from "./track";

/** Seconds between progress reports while playing (the contract asks for 15 to 30). */
const PROGRESS_EVERY = 20;

/** Where a play started, as the contract's `PlayContext`. */
export interface Context {
  type: PlayContextType;
  id: string;
}

interface Session {
  id: string;
  trackId: string;
  context: Context | null;
  sequence: number;
  played: number;
  lastTime: number;
  lastReport: number;
}

/** Reports the plays of one `<audio>` element. */
export class Reporter extends EventTarget {
  /** Reports acknowledged by the server. */
  acknowledged = 0;
  /** Reports that failed after a retry. */
  failed = 0;
  /** Whether the server counted the current session as a play. */
  counted = false;
  private session: Session | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly audio: HTMLAudioElement,
    private readonly quality: () => AudioQuality | null,
  ) {
    super();
    audio.addEventListener("timeupdate", () => this.progress());
    audio.addEventListener("pause", () => {
      if (!audio.ended) this.send(PlaybackState.PAUSED);
    });
    audio.addEventListener("play", () => this.send(PlaybackState.PLAYING));
    audio.addEventListener("seeked", () => {
      if (this.session) this.session.lastTime = audio.currentTime;
      this.send(audio.paused ? PlaybackState.PAUSED : PlaybackState.PLAYING);
    });
    audio.addEventListener("ended", () => this.end(PlaybackEndReason.COMPLETED));
  }

  /** Seconds of the current session actually heard. */
  get played(): number {
    return this.session?.played ?? 0;
  }

  /** Starts a new session for `trackId` (ending the current one as skipped). */
  begin(trackId: string, context: Context | null): void {
    this.end(PlaybackEndReason.SKIPPED);
    this.counted = false;
    this.session = {
      id: crypto.randomUUID(),
      trackId,
      context,
      sequence: 0,
      played: 0,
      lastTime: 0,
      lastReport: 0,
    };
  }

  /** Ends the current session, if any, for `reason`. */
  end(reason: PlaybackEndReason): void {
    if (!this.session) return;
    this.send(PlaybackState.ENDED, reason);
    this.session = null;
  }

  private progress(): void {
    const session = this.session;
    if (!session) return;
    const now = this.audio.currentTime;
    const step = now - session.lastTime;
    // Natural progress comes in small steps; a jump is a seek and was not heard.
    if (step > 0 && step < 2) session.played += step;
    session.lastTime = now;
    if (!this.audio.paused && session.played - session.lastReport >= PROGRESS_EVERY) {
      this.send(PlaybackState.PLAYING);
    }
  }

  private send(state: PlaybackState, endReason = PlaybackEndReason.UNSPECIFIED): void {
    const session = this.session;
    if (!session) return;
    session.sequence += 1;
    session.lastReport = session.played;
    const request = {
      playSessionId: session.id,
      sequence: session.sequence,
      trackId: session.trackId,
      position: durationOf(this.audio.currentTime || 0),
      played: durationOf(session.played),
      state,
      endReason,
      context: session.context ?? undefined,
      quality: this.quality() ?? undefined,
      clientTime: timestampFromDate(new Date()),
    };
    // In order, so the server sees sequences rise; a report is idempotent, so one retry is safe.
    this.queue = this.queue.then(async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const response = await player.reportPlayback(request);
          this.acknowledged += 1;
          if (session === this.session || state === PlaybackState.ENDED) this.counted ||= response.playCounted;
          this.dispatchEvent(new Event("report"));
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      this.failed += 1;
      this.dispatchEvent(new Event("report"));
    });
  }
}
