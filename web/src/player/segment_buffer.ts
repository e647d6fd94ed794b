// One MediaSource with one SourceBuffer on an <audio> element, with its operations run one
// after another: a SourceBuffer refuses a new append or remove while one is in progress, and
// the fill loop, seeks and quality overrides all want to change it.

import type { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";

/** A SourceBuffer whose appends and removes are queued and awaited. */
export class SegmentBuffer {
  /** Quality of the last init segment appended (media segments must match it). */
  initQuality: AudioQuality | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private detached = false;

  private constructor(
    private readonly audio: HTMLAudioElement,
    private readonly source: MediaSource,
    private readonly buffer: SourceBuffer,
    private readonly url: string,
  ) {}

  /** Opens a MediaSource of `mimeType` on `audio`, lasting `duration` seconds. */
  static async attach(audio: HTMLAudioElement, mimeType: string, duration: number): Promise<SegmentBuffer> {
    const source = new MediaSource();
    const url = URL.createObjectURL(source);
    const opened = new Promise<void>((resolve) => source.addEventListener("sourceopen", () => resolve(), { once: true }));
    audio.src = url;
    await opened;
    const buffer = source.addSourceBuffer(mimeType);
    // Timestamps inside the segments place them: that is what makes quality switches line up.
    buffer.mode = "segments";
    if (duration > 0) source.duration = duration;
    return new SegmentBuffer(audio, source, buffer, url);
  }

  /** Appends an init segment, after which media segments of `quality` may follow. */
  appendInit(quality: AudioQuality, data: Uint8Array, valid: () => boolean = () => true): Promise<void> {
    return this.run(valid, async () => {
      await this.update(() => this.buffer.appendBuffer(data as BufferSource));
      this.initQuality = quality;
    });
  }

  /** Appends one media segment; skipped if `valid()` is false when its turn comes. */
  append(data: Uint8Array, valid: () => boolean = () => true): Promise<void> {
    return this.run(valid, async () => {
      try {
        await this.update(() => this.buffer.appendBuffer(data as BufferSource));
      } catch (error) {
        if (!(error instanceof DOMException && error.name === "QuotaExceededError")) throw error;
        // Full: make room behind the playhead and try once more.
        await this.update(() => this.buffer.remove(0, Math.max(0, this.audio.currentTime - 5)));
        await this.update(() => this.buffer.appendBuffer(data as BufferSource));
      }
    });
  }

  /** Removes buffered audio in `[from, to)`. */
  remove(from: number, to: number): Promise<void> {
    return this.run(
      () => true,
      () => this.update(() => this.buffer.remove(from, Math.min(to, this.source.duration || to))),
    );
  }

  /** Drops what lies more than a little behind `time`, bounding memory on long tracks. */
  evictBefore(time: number): Promise<void> {
    const ranges = this.buffer.buffered;
    if (time <= 0 || ranges.length === 0 || ranges.start(0) >= time) return Promise.resolve();
    return this.remove(0, time);
  }

  /** Says the whole track is buffered, so playback ends at its end instead of waiting. */
  end(): Promise<void> {
    return this.run(
      () => true,
      async () => {
        if (this.source.readyState === "open") this.source.endOfStream();
      },
    );
  }

  /** Seconds buffered contiguously ahead of `time`. */
  ahead(time: number): number {
    const end = this.contiguousEnd(time);
    return end === null ? 0 : end - time;
  }

  /** End of the buffered range holding `time` (a small tolerance for frame edges), if any. */
  contiguousEnd(time: number): number | null {
    if (this.detached) return null;
    const ranges = this.buffer.buffered;
    for (let i = 0; i < ranges.length; i++) {
      if (ranges.start(i) <= time + 0.1 && time < ranges.end(i)) {
        // Ranges closer than a frame apart play as one.
        let end = ranges.end(i);
        while (i + 1 < ranges.length && ranges.start(i + 1) - end < 0.05) end = ranges.end(++i);
        return end;
      }
    }
    return null;
  }

  /** Releases the MediaSource; later operations do nothing. */
  detach(): void {
    this.detached = true;
    URL.revokeObjectURL(this.url);
  }

  private run(valid: () => boolean, op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(() => (this.detached || !valid() ? undefined : op()));
    // A failed op must not block the ones queued after it; its caller sees the error.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs one SourceBuffer change and waits for it to finish. */
  private update(change: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.buffer.removeEventListener("updateend", done);
        this.buffer.removeEventListener("error", failed);
        resolve();
      };
      const failed = () => {
        this.buffer.removeEventListener("updateend", done);
        this.buffer.removeEventListener("error", failed);
        reject(new Error("the browser refused an audio segment"));
      };
      this.buffer.addEventListener("updateend", done);
      this.buffer.addEventListener("error", failed);
      try {
        change();
      } catch (error) {
        this.buffer.removeEventListener("updateend", done);
        this.buffer.removeEventListener("error", failed);
        reject(error);
      }
    });
  }
}
