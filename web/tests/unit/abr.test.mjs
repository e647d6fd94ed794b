// Unit tests of the adaptive-quality rules (web/src/player/abr.ts), bundled on the fly with
// esbuild so they run on plain node: `node --test web/tests/unit/` (scripts/web.sh runs them).

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const entry = fileURLToPath(new URL("../../src/player/abr.ts", import.meta.url));
const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", write: false, platform: "neutral" });
const { QualityChooser } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

// AudioQuality values from the contract.
const LOW = 1, NORMAL = 2, HIGH = 3, VERY_HIGH = 4;
const ladder = [
  { quality: VERY_HIGH, bitrateBps: 160_000 },
  { quality: LOW, bitrateBps: 24_000 },
  { quality: HIGH, bitrateBps: 96_000 },
  { quality: NORMAL, bitrateBps: 64_000 },
];
/** A download that measures `bps`. */
const measure = (chooser, bps) => chooser.sample(bps / 8, 1000);

test("starts at normal before anything was measured", () => {
  assert.equal(new QualityChooser().choose(ladder, null, 0), NORMAL);
});

test("climbs one step at a time, only with a buffer in hand", () => {
  const chooser = new QualityChooser();
  measure(chooser, 10_000_000);
  assert.equal(chooser.choose(ladder, NORMAL, 5), NORMAL);
  assert.equal(chooser.choose(ladder, NORMAL, 12), HIGH);
  assert.equal(chooser.choose(ladder, HIGH, 12), VERY_HIGH);
});

test("drops to what the throughput carries, and to the lowest when nearly dry", () => {
  const chooser = new QualityChooser();
  measure(chooser, 130_000);
  assert.equal(chooser.choose(ladder, VERY_HIGH, 12), NORMAL);
  assert.equal(chooser.choose(ladder, VERY_HIGH, 2), LOW);
});

test("a deep buffer rides out a dip the current bitrate still fits in", () => {
  const chooser = new QualityChooser();
  measure(chooser, 200_000);
  assert.equal(chooser.choose(ladder, VERY_HIGH, 30), VERY_HIGH);
});

test("a manual choice wins while the track has it", () => {
  const chooser = new QualityChooser();
  measure(chooser, 10_000_000);
  chooser.manual = LOW;
  assert.equal(chooser.choose(ladder, VERY_HIGH, 30), LOW);
  chooser.manual = 99;
  assert.notEqual(chooser.choose(ladder, VERY_HIGH, 30), 99);
});

test("cache hits and tiny downloads do not move the estimate", () => {
  const chooser = new QualityChooser();
  chooser.sample(100, 1);
  chooser.sample(100_000, 0);
  assert.equal(chooser.throughputBps, null);
});
