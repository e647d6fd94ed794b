// A grid of cards (artists, albums, playlists): each a button that opens its view.

import { h } from "./dom";

/** One card: a title, an optional detail line, and what opening it does. */
export interface Card {
  title: string;
  sub?: string;
  /** Extra class, e.g. for tests and styling (`artist-link`). */
  kind?: string;
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
          h("span", { class: "card-title" }, card.title),
          card.sub !== undefined && h("span", { class: "sub" }, card.sub),
        ),
      ),
    ),
  );
}
