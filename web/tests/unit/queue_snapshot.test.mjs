// Unit tests of what the web player saves of its queue (web/src/player/queue_snapshot.ts),
// bundled on the fly with esbuild like abr.test.mjs.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const entry = fileURLToPath(new URL("../../src/player/queue_snapshot.ts", import.meta.url));
const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", write: false, platform: "neutral" });
const { snapshot, MAX_SAVED } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

const ids = (n) => Array.from({ length: n }, (_, i) => `tr_${i}`);

test("saves the queue, the current track and the position in ms", () => {
  assert.deepEqual(snapshot(["a", "b", "a"], 2, 61.5), { trackIds: ["a", "b", "a"], currentIndex: 2, positionMs: 61500n });
});

test("an empty queue or no current track saves no position", () => {
  assert.deepEqual(snapshot([], -1, 12), { trackIds: [], currentIndex: undefined, positionMs: 0n });
  assert.deepEqual(snapshot(["a"], -1, 12), { trackIds: ["a"], currentIndex: undefined, positionMs: 0n });
});

test("positions are clamped to what the service keeps", () => {
  assert.equal(snapshot(["a"], 0, -3).positionMs, 0n);
  assert.equal(snapshot(["a"], 0, Number.NaN).positionMs, 0n);
  assert.equal(snapshot(["a"], 0, 1e9).positionMs, 86_400_000n);
});

test("a long queue keeps the window around the current track", () => {
  const long = ids(MAX_SAVED + 600);
  const start = snapshot(long, 10, 0);
  assert.equal(start.trackIds.length, MAX_SAVED);
  assert.equal(start.trackIds[start.currentIndex], "tr_10");
  const middle = snapshot(long, 800, 0);
  assert.equal(middle.trackIds.length, MAX_SAVED);
  assert.equal(middle.trackIds[middle.currentIndex], "tr_800");
  const end = snapshot(long, MAX_SAVED + 599, 0);
  assert.equal(end.trackIds[end.currentIndex], `tr_${MAX_SAVED + 599}`);
  assert.equal(end.trackIds.at(-1), `tr_${MAX_SAVED + 599}`);
});
