// A list of tracks with the actions every list offers: play from here, queue, add to a
// playlist, start a radio; optionally remove (playlists).

import { playlists } from "../api/clients";
import { h } from "../ui/dom";
import type { Context } from "../player/reporter";
import { clock, type QueueTrack } from "../player/track";
import type { App } from "./context";

/** Options of a track list. */
export interface ListOptions {
  /** Where plays from this list come from, for play reports. */
  context: Context | null;
  /** Shown when the list is empty. */
  empty: string;
  /** Adds a remove button per row. */
  remove?: (position: number) => void;
  /** Makes rows reorderable (drag and drop, or the move buttons): `from` goes before `to`. */
  move?: (from: number, to: number) => void;
}

/** A table of `tracks`; a row's Play button plays the list from that row. */
export function trackList(app: App, tracks: QueueTrack[], options: ListOptions): HTMLElement {
  if (tracks.length === 0) return h("p", { class: "empty" }, options.empty);
  const rows = tracks.map((track, position) =>
    h(
      "tr",
      {
        "data-track-id": track.id,
        draggable: options.move ? "true" : undefined,
        ondragstart: options.move ? (event: Event) => (event as DragEvent).dataTransfer?.setData("text/plain", String(position)) : undefined,
        ondragover: options.move ? (event: Event) => event.preventDefault() : undefined,
        ondrop: options.move
          ? (event: Event) => {
              event.preventDefault();
              const from = Number((event as DragEvent).dataTransfer?.getData("text/plain"));
              if (Number.isInteger(from) && from !== position) options.move?.(from, position);
            }
          : undefined,
      },
      h("td", { class: "num" }, String(position + 1)),
      h(
        "td",
        {},
        h(
          "button",
          {
            class: "link play-track",
            "aria-label": `Play ${track.title}`,
            onclick: () => void app.player.playList(tracks, position, options.context),
          },
          track.title,
        ),
        h("div", { class: "sub" }, track.artist),
      ),
      h("td", { class: "sub" }, track.album),
      h("td", { class: "num" }, clock(track.duration)),
      h(
        "td",
        { class: "actions" },
        h(
          "button",
          { "aria-label": `Add ${track.title} to the queue`, title: "Add to queue", onclick: () => app.player.queue.add([track], options.context) },
          "+ Queue",
        ),
        h(
          "button",
          { "aria-label": `Add ${track.title} to a playlist`, title: "Add to playlist", onclick: () => app.addToPlaylist(track) },
          "+ Playlist",
        ),
        h("button", { "aria-label": `Radio from ${track.title}`, title: "Radio", onclick: () => app.radio(track) }, "Radio"),
        h("button", { "aria-label": `Like ${track.title}`, title: "Like", onclick: (event: Event) => like(event, track.id) }, "♥"),
        options.move &&
          position > 0 &&
          h("button", { "aria-label": `Move ${track.title} up`, title: "Move up", onclick: () => options.move?.(position, position - 1) }, "↑"),
        options.move &&
          position + 1 < tracks.length &&
          h("button", { "aria-label": `Move ${track.title} down`, title: "Move down", onclick: () => options.move?.(position, position + 1) }, "↓"),
        options.remove &&
          h(
            "button",
            { "aria-label": `Remove ${track.title}`, title: "Remove", onclick: () => options.remove?.(position) },
            "Remove",
          ),
      ),
    ),
  );
  return h(
    "table",
    { class: "tracks" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", class: "num" }, "#"),
        h("th", { scope: "col" }, "Title"),
        h("th", { scope: "col" }, "Album"),
        h("th", { scope: "col", class: "num" }, "Time"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    h("tbody", {}, ...rows),
  );
}

function like(event: Event, trackId: string): void {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  void playlists
    .likeTracks({ trackIds: [trackId] })
    .then(() => {
      button.textContent = "♥ Liked";
      button.classList.add("liked");
    })
    .catch(() => {
      button.disabled = false;
    });
}
