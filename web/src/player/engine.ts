// Plays one track at a time through Media Source Extensions from the WebM/Opus segments of
// its manifest, choosing the quality of every segment (see abr.ts).
//
// The renditions of a track are time-aligned (segment N starts at the same time in every
// quality) and each has its own init segment. Switching quality is therefore: append the new
// rendition's init segment, then its next media segment, right after the last one appended.
// The source buffer stays in "segments" mode, so the timestamps inside the segments place
// them, and the switch lands on a segment boundary with no gap.

import { ConnectError, Code } from "@connectrpc/connect";
import type { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";
import type { AudioManifest, AudioRendition } from "../gen/tunemesh/player/v1/audio_manifest_pb";
import { player } from "../api/clients";
import { QualityChooser, type Rung } from "./abr";
import { seconds } from "./track";
import { SegmentBuffer } from "./segment_buffer";

/** Seconds of audio kept buffered ahead of the playhead. */
const AHEAD_TARGET = 30;
/** Seconds of played audio kept behind the playhead (for short seeks back). */
const BEHIND_KEEP = 30;

/** What the quality indicator shows. */
export interface EngineStatus {
  /** Quality of the segment under the playhead. */
  playing: AudioQuality | null;
  /** Quality of the last segment fetched. */
  loading: AudioQuality | null;
  /** Seconds buffered ahead of the playhead. */
  bufferAhead: number;
  /** Measured throughput in bits per second. */
  throughputBps: number | null;
  /** Bitrate of `playing`, in bits per second. */
  bitrateBps: number;
  /** How many quality switches were appended for this track. */
  switches: number;
}

/** MSE playback of one track after another on one `<audio>` element. */
export class Engine extends EventTarget {
  readonly chooser = new QualityChooser();
  private manifest: AudioManifest | null = null;
  private buffer: SegmentBuffer | null = null;
  /** Quality appended for each segment index, to show what plays now. */
  private appended = new Map<number, AudioQuality>();
  private nextIndex = 0;
  private lastQuality: AudioQuality | null = null;
  private switches = 0;
  /** Bumped on every load and seek: a loop or fetch of an older epoch stops. */
  private epoch = 0;
  private wake: (() => void) | null = null;

  constructor(readonly audio: HTMLAudioElement) {
    super();
    audio.addEventListener("seeking", () => this.onSeeking());
    audio.addEventListener("timeupdate", () => {
      this.kick();
      this.dispatchEvent(new Event("status"));
    });
  }

  /** The manifest of the loaded track. */
  get loaded(): AudioManifest | null {
    return this.manifest;
  }

  /** Loads a track and starts filling the buffer; resolves once it can play. */
  async load(trackId: string): Promise<void> {
    const epoch = ++this.epoch;
    this.kick();
    const response = await player.getAudioManifest({ trackId });
    if (epoch !== this.epoch) return;
    const manifest = response.manifest;
    const playable = manifest?.renditions.filter(
      (rendition) => rendition.segments.length > 0 && MediaSource.isTypeSupported(rendition.segmentedMimeType),
    );
    if (!manifest || !playable || playable.length === 0) throw new Error("no quality of this track plays in this browser");
    manifest.renditions = playable;
    this.manifest = manifest;
    this.appended.clear();
    this.nextIndex = 0;
    this.lastQuality = null;
    this.switches = 0;
    this.buffer?.detach();
    this.buffer = await SegmentBuffer.attach(this.audio, playable[0].segmentedMimeType, seconds(manifest.duration));
    if (epoch !== this.epoch) return;
    void this.fill(epoch);
  }

  /** Sets or clears (`null`) the listener's quality, and applies it from the next boundary. */
  setManual(quality: AudioQuality | null): void {
    this.chooser.manual = quality;
    const manifest = this.manifest;
    if (!manifest || !this.buffer || quality === null) return this.kick();
    // Keep what plays now and the segment after it (time to fetch the new quality without
    // running dry); drop the rest so the new quality is heard within seconds, not after the
    // whole buffer drained.
    const segments = manifest.renditions[0].segments;
    const keepUntil = this.indexAt(this.audio.currentTime) + 2;
    if (keepUntil < this.nextIndex && keepUntil < segments.length) {
      const from = seconds(segments[keepUntil].startTime);
      this.epoch++;
      for (let index = keepUntil; index < this.nextIndex; index++) this.appended.delete(index);
      this.nextIndex = keepUntil;
      void this.buffer.remove(from, Infinity).then(() => this.restart());
    } else {
      this.kick();
    }
  }

  /** The indicator's numbers now. */
  status(): EngineStatus {
    const playing = this.manifest ? (this.appended.get(this.indexAt(this.audio.currentTime)) ?? null) : null;
    const rendition = this.manifest?.renditions.find((candidate) => candidate.quality === playing);
    return {
      playing,
      loading: this.lastQuality,
      bufferAhead: this.buffer?.ahead(this.audio.currentTime) ?? 0,
      throughputBps: this.chooser.throughputBps,
      bitrateBps: rendition?.bitrateBps ?? 0,
      switches: this.switches,
    };
  }

  /** Qualities of the loaded track, lowest first. */
  qualities(): AudioQuality[] {
    return (this.manifest?.renditions ?? [])
      .slice()
      .sort((a, b) => a.bitrateBps - b.bitrateBps)
      .map((rendition) => rendition.quality);
  }

  /** Stops filling and detaches from the element. */
  unload(): void {
    this.epoch++;
    this.kick();
    this.buffer?.detach();
    this.buffer = null;
    this.manifest = null;
  }

  private restart(): void {
    const epoch = this.epoch;
    void this.fill(epoch);
  }

  private onSeeking(): void {
    const manifest = this.manifest;
    if (!manifest || !this.buffer) return;
    const time = this.audio.currentTime;
    // Fill on from the end of the buffered stretch the playhead landed in (or from the
    // segment it landed in when nothing there is buffered).
    const end = this.buffer.contiguousEnd(time);
    const index = end === null ? this.indexAt(time) : this.indexAt(Math.max(time, end - 0.05));
    const from = end === null ? index : index + (this.appended.has(index) ? 1 : 0);
    if (from === this.nextIndex) return this.kick();
    this.epoch++;
    this.nextIndex = from;
    this.restart();
  }

  private indexAt(time: number): number {
    const segments = this.manifest?.renditions[0].segments ?? [];
    let index = 0;
    while (index + 1 < segments.length && seconds(segments[index + 1].startTime) <= time + 1e-3) index++;
    return index;
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private sleep(millis: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, millis);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The loop of one epoch: fetch, append, evict, until the track is buffered to its end. */
  private async fill(epoch: number): Promise<void> {
    let failures = 0;
    while (epoch === this.epoch && this.manifest && this.buffer) {
      const manifest = this.manifest;
      const buffer = this.buffer;
      const count = manifest.renditions[0].segments.length;
      const now = this.audio.currentTime;
      const ahead = buffer.ahead(now);
      if (this.nextIndex >= count) {
        await buffer.end();
        await this.sleep(1000);
        continue;
      }
      if (ahead >= AHEAD_TARGET) {
        await buffer.evictBefore(now - BEHIND_KEEP);
        await this.sleep(1000);
        continue;
      }
      const rungs: Rung[] = manifest.renditions.map((rendition) => ({
        quality: rendition.quality,
        bitrateBps: rendition.bitrateBps,
      }));
      const quality = this.chooser.choose(rungs, this.lastQuality, ahead);
      const rendition = manifest.renditions.find((candidate) => candidate.quality === quality) as AudioRendition;
      const index = this.nextIndex;
      try {
        const started = performance.now();
        const response = await player.getAudioSegment({
          trackId: manifest.trackId,
          quality,
          segment: { case: "mediaSegmentIndex", value: index },
        });
        this.chooser.sample(response.data.byteLength, performance.now() - started);
        if (epoch !== this.epoch) return;
        // A new rendition starts with its own init segment; the media segment follows it.
        const current = () => epoch === this.epoch;
        if (quality !== buffer.initQuality) {
          if (buffer.initQuality !== null) this.switches++;
          await buffer.appendInit(quality, rendition.initSegment, current);
        }
        await buffer.append(response.data, current);
        if (epoch !== this.epoch) return;
        this.appended.set(index, quality);
        this.lastQuality = quality;
        this.nextIndex = index + 1;
        failures = 0;
        this.dispatchEvent(new Event("status"));
      } catch (error) {
        if (epoch !== this.epoch) return;
        if (error instanceof ConnectError && error.code === Code.NotFound && manifest.renditions.length > 1) {
          // This quality went away (re-ingest): play on without it.
          manifest.renditions = manifest.renditions.filter((candidate) => candidate !== rendition);
          continue;
        }
        failures++;
        this.dispatchEvent(new CustomEvent("trouble", { detail: error }));
        // Back off, but keep trying: the buffer ahead may carry playback over a short outage.
        await this.sleep(Math.min(8000, 250 * 2 ** failures));
      }
    }
  }
}
