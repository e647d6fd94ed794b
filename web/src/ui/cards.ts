// A grid of cards (artists, albums, playlists): each a button that opens its view, with its
// picture when it has one.

import { cover, type ImageRef } from "./cover";
import { h } from "./dom";

/** CSS pixels of a card's picture (`.card .cover` in app.css). */
const CARD_IMAGE = 156;

/** One card: a title, an optional detail line, and what opening it does. */
export interface Card {
  title: string;
  sub?: string;
  /** Extra class, e.g. for tests and styling (`artist-link`). */
  kind?: string;
  /** Cover or picture; a placeholder when absent. */
  image?: ImageRef;
  open: () => void;
}

/** A list of `cards`. */
export function cards(items: Card[]): HTMLElement {
  return h(
    "ul",
    { class: "cards" },
    ...items.map((card) =>
      h(
        "li",
        {},
        h(
          "button",
          { class: card.kind ? `card ${card.kind}` : "card", onclick: () => card.open() },
          cover(card.image, CARD_IMAGE),
          h("span", { class: "card-title" }, card.title),
          card.sub !== undefined && h("span", { class: "sub" }, card.sub),
        ),
      ),
    ),
  );
}
