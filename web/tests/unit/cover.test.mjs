// Unit tests of the image URLs the views ask for (web/src/ui/cover.ts): sizes round up to the
// ones the gateway renders, so every view shares the browser's cache.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const entry = fileURLToPath(new URL("../../src/ui/cover.ts", import.meta.url));
const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", write: false, platform: "neutral" });
const { derivedCover, imageUrl, servedSize } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

const id = "ab".repeat(32);

test("sizes round up to the served ones, the largest caps", () => {
  assert.equal(servedSize(1), 64);
  assert.equal(servedSize(56), 64);
  assert.equal(servedSize(112), 128);
  assert.equal(servedSize(156), 256);
  assert.equal(servedSize(3000), 1024);
});

test("an image's URL is the gateway's, or its image path when the answer had none", () => {
  assert.equal(imageUrl({ id, url: `/v1/images/${id}` }, 100), `/v1/images/${id}?size=128`);
  assert.equal(imageUrl({ id, url: "" }, 512), `/v1/images/${id}?size=512`);
  assert.equal(imageUrl(undefined, 64), null);
  assert.equal(imageUrl({ id: "", url: "" }, 64), null);
});

test("a playlist's derived cover: four distinct covers make a mosaic, fewer the first", () => {
  const image = (digit) => ({ id: digit.repeat(64), url: "" });
  const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(image);
  const mosaic = derivedCover([undefined, a, a, b, c, b, d, e]);
  assert.equal(mosaic.id, [a, b, c, d].map((i) => i.id).join("."));
  assert.equal(imageUrl(mosaic, 156), `/v1/images/${mosaic.id}?size=256`);
  assert.deepEqual(derivedCover([b, a, b, c]), { id: b.id, url: "" });
  assert.equal(derivedCover([undefined]), undefined);
  assert.equal(derivedCover([]), undefined);
});
