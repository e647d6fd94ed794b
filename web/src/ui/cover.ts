// Cover images: where the gateway serves an image at the sizes it renders, and <img> elements
// that load lazily at the size they are shown (twice that on high-density screens).

import { h } from "./dom";

/** What the views know of an image: the contract's `Image` (or the part of it they keep). */
export interface ImageRef {
  id: string;
  /** Where to fetch it; empty when the answer came without one (gRPC-web answers). */
  url: string;
}

/** The sizes the gateway renders (`GET /v1/images/{id}?size=N`); others are rounded up. */
export const IMAGE_SIZES = [64, 128, 256, 512, 1024] as const;

/** The smallest served size at least `pixels` wide. */
export function servedSize(pixels: number): number {
  return IMAGE_SIZES.find((size) => size >= pixels) ?? IMAGE_SIZES[IMAGE_SIZES.length - 1];
}

/** The URL of `image` at `pixels` (rounded up to a served size); null without an image. */
export function imageUrl(image: ImageRef | undefined, pixels: number): string | null {
  if (!image?.id) return null;
  // The gateway's REST answers carry the URL; its gRPC-web answers carry the id only, and
  // the page is served by the same gateway, so its image path is the one to use.
  const base = image.url || `/v1/images/${encodeURIComponent(image.id)}`;
  return `${base}${base.includes("?") ? "&" : "?"}size=${servedSize(pixels)}`;
}

/** Pictures in a playlist's mosaic (`Playlist.first_track_ids` in the contract). */
const MOSAIC_PARTS = 4;

/**
 * The cover of a playlist without one of its own, from the covers of its first tracks in
 * order (the contract's rule, which the gateway's REST answers follow too): the distinct
 * covers; four or more make the mosaic of the first four, an image whose id is their ids
 * joined by "."; one to three, the first; none, no cover.
 */
export function derivedCover(covers: (ImageRef | undefined)[]): ImageRef | undefined {
  const distinct: string[] = [];
  for (const image of covers) {
    if (image?.id && !distinct.includes(image.id)) distinct.push(image.id);
    if (distinct.length === MOSAIC_PARTS) break;
  }
  if (distinct.length === 0) return undefined;
  return { id: distinct.length === MOSAIC_PARTS ? distinct.join(".") : distinct[0], url: "" };
}

/** A square cover shown at `pixels` CSS pixels, or a placeholder of that size without one. */
export function cover(image: ImageRef | undefined, pixels: number, className = "cover"): HTMLElement {
  const src = imageUrl(image, pixels);
  if (!src) return h("div", { class: `${className} placeholder`, "aria-hidden": "true" });
  return h("img", {
    class: className,
    src,
    srcset: `${src} 1x, ${imageUrl(image, pixels * 2)} 2x`,
    width: pixels,
    height: pixels,
    alt: "",
    loading: "lazy",
    decoding: "async",
  });
}
