// Adaptive quality: picks the rendition of the next segment from the measured download
// throughput and how much audio is buffered ahead. Pure logic, no DOM, so the rules are easy
// to read in one place.
//
// Rules (in the spirit of throughput-based ABR with a buffer guard, as in dash.js):
// - throughput is an exponentially weighted average of segment downloads, so one slow or one
//   fast segment does not swing the choice;
// - pick the best rendition whose bitrate fits in a safety share of that throughput;
// - with little buffered (risk of a stall) never go up, and drop to the lowest when nearly dry;
// - with a deep buffer, allow one step up even if the estimate is only just enough.

import { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";

/** One rendition as the chooser sees it. */
export interface Rung {
  quality: AudioQuality;
  bitrateBps: number;
}

/** Share of the measured throughput a rendition may use. */
const SAFETY = 0.6;
/** Below this many seconds ahead, only the lowest rendition is safe. */
const PANIC_BUFFER = 4;
/** Below this, do not go up. */
const LOW_BUFFER = 8;
/** Weight of the newest sample in the average. */
const ALPHA = 0.3;

/** Estimates throughput and chooses qualities; `manual` overrides the choice when set. */
export class QualityChooser {
  private estimateBps: number | null = null;
  /** A quality the listener chose; `null` is automatic. */
  manual: AudioQuality | null = null;

  /** The current throughput estimate in bits per second, if any download was measured. */
  get throughputBps(): number | null {
    return this.estimateBps;
  }

  /** Records one download of `bytes` that took `millis`. */
  sample(bytes: number, millis: number): void {
    // Tiny or instant downloads (cache hits) say nothing about the network.
    if (bytes < 4096 || millis < 1) return;
    const bps = (bytes * 8 * 1000) / millis;
    this.estimateBps = this.estimateBps === null ? bps : ALPHA * bps + (1 - ALPHA) * this.estimateBps;
  }

  /** The quality of the next segment, given the renditions (any order) and the buffer ahead. */
  choose(rungs: Rung[], current: AudioQuality | null, bufferAhead: number): AudioQuality {
    const ladder = [...rungs].sort((a, b) => a.bitrateBps - b.bitrateBps);
    if (ladder.length === 0) return AudioQuality.NORMAL;
    if (this.manual !== null && ladder.some((rung) => rung.quality === this.manual)) return this.manual;
    const lowest = ladder[0].quality;
    // Before any measurement start in the middle of the ladder: quick to start, quick to adapt.
    if (this.estimateBps === null) {
      const normal = ladder.find((rung) => rung.quality === AudioQuality.NORMAL);
      return (normal ?? ladder[Math.floor((ladder.length - 1) / 2)]).quality;
    }
    if (bufferAhead < PANIC_BUFFER && current !== null) return lowest;
    const budget = this.estimateBps * SAFETY;
    let best = ladder.filter((rung) => rung.bitrateBps <= budget).pop() ?? ladder[0];
    const currentIndex = ladder.findIndex((rung) => rung.quality === current);
    const bestIndex = ladder.indexOf(best);
    if (currentIndex >= 0 && bestIndex > currentIndex) {
      // Up one step at a time, and only with enough in hand.
      if (bufferAhead < LOW_BUFFER) best = ladder[currentIndex];
      else best = ladder[currentIndex + 1];
    } else if (currentIndex >= 0 && bestIndex <= currentIndex && bufferAhead > 3 * LOW_BUFFER) {
      // A deep buffer absorbs a dip in throughput: do not drop yet.
      if (ladder[currentIndex].bitrateBps <= this.estimateBps) best = ladder[currentIndex];
    }
    return best.quality;
  }
}

/** The name the API and the UI use for a quality. */
export function qualityName(quality: AudioQuality): string {
  switch (quality) {
    case AudioQuality.LOW:
      return "low";
    case AudioQuality.NORMAL:
      return "normal";
    case AudioQuality.HIGH:
      return "high";
    case AudioQuality.VERY_HIGH:
      return "very high";
    default:
      return "unknown";
  }
}
