// Playlists: the listener's own (PlaylistService.ListMyPlaylists), creating one, a playlist's
// tracks with play and remove, and adding a track to a playlist from any list.

import { describeError, playlists } from "../api/clients";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { tracksByIds, type QueueTrack } from "../player/track";
import { cards } from "../ui/cards";
import { cover, derivedCover, type ImageRef } from "../ui/cover";
import { byId, h, mount } from "../ui/dom";
import type { App } from "./context";
import { trackList } from "./tracks";

/** What a playlist's picture is made of: a `Playlist`, or a `PlaylistSummary` found by search. */
export interface Pictured {
  cover?: ImageRef;
  firstTrackIds: string[];
}

/** A playlist's picture: its own cover, or the one derived from its first tracks' covers. */
export function playlistCover(playlist: Pictured, tracks: Map<string, QueueTrack>): ImageRef | undefined {
  if (playlist.cover?.id) return { id: playlist.cover.id, url: playlist.cover.url };
  return derivedCover(playlist.firstTrackIds.map((id) => tracks.get(id)?.cover));
}

/** The first tracks of `lists` without a cover of their own, looked up in one go, by id. */
export async function firstTracks(lists: Pictured[]): Promise<Map<string, QueueTrack>> {
  const ids = new Set(lists.filter((playlist) => !playlist.cover?.id).flatMap((playlist) => playlist.firstTrackIds));
  // A cover is decoration: the list shows without one when the catalogue does not answer.
  const found = await tracksByIds([...ids]).catch(() => []);
  return new Map(found.map((track) => [track.id, track]));
}

/** The listener's playlists and a form to create one. */
export function playlistsView(app: App) {
  return async (): Promise<Node> => {
    const { playlists: mine } = await playlists.listMyPlaylists({ pageSize: 100 });
    const covers = await firstTracks(mine.flatMap((entry) => (entry.playlist ? [entry.playlist] : [])));
    const name = h("input", { id: "new-playlist-name", name: "name", required: true, maxlength: 100, placeholder: "New playlist" });
    // Public playlists can be found by everyone through search.
    const open = h("input", { id: "new-playlist-public", name: "public", type: "checkbox" });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": "Create a playlist" },
      h("label", { for: "new-playlist-name", class: "visually-hidden" }, "Playlist name"),
      name,
      h("label", { for: "new-playlist-public" }, open, " Public"),
      h("button", { type: "submit", class: "primary" }, "Create"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void playlists
        .createPlaylist({ requestId: crypto.randomUUID(), name: name.value.trim(), public: open.checked })
        .then(() => app.show("Playlists", playlistsView(app), "playlists"))
        .catch((error) => form.append(h("p", { class: "error", role: "alert" }, describeError(error))));
    });
    return h(
      "div",
      {},
      form,
      mine.length === 0
        ? h("p", { class: "empty" }, "No playlists yet.")
        : cards(
            mine.flatMap(({ playlist }) =>
              playlist
                ? [
                    {
                      title: playlist.name,
                      sub: `${playlist.itemCount} tracks`,
                      kind: "playlist-link",
                      image: playlistCover(playlist, covers),
                      open: () => app.show(playlist.name, playlistView(app, playlist.id), "playlists"),
                    },
                  ]
                : [],
            ),
          ),
    );
  };
}

/** One playlist's tracks. */
export function playlistView(app: App, playlistId: string) {
  return async (): Promise<Node> => {
    const { playlist, items } = await playlists.getPlaylist({ playlistId, pageSize: 500 });
    const tracks = await tracksByIds(items.map((item) => item.trackId));
    const known = new Map(tracks.map((track) => [track.id, track]));
    // The first tracks are on the first page of items, so already looked up.
    const picture = playlist ? playlistCover(playlist, known) : undefined;
    // Items whose track left the catalogue are skipped, so map positions back to item ids.
    const shown = items.filter((item) => tracks.some((track) => track.id === item.trackId));
    const itemIds = shown.map((item) => item.itemId);
    const positions = shown.map((item) => item.position);
    const context = { type: PlayContextType.PLAYLIST, id: playlistId };
    const reload = () => app.show(playlist?.name ?? "Playlist", playlistView(app, playlistId), "playlists");
    const name = h("input", { id: "rename-playlist", value: playlist?.name ?? "", required: true, maxlength: 100 });
    const rename = h(
      "form",
      { class: "inline-form", "aria-label": "Rename the playlist" },
      h("label", { for: "rename-playlist", class: "visually-hidden" }, "Playlist name"),
      name,
      h("button", { type: "submit" }, "Rename"),
    );
    rename.addEventListener("submit", (event) => {
      event.preventDefault();
      void playlists.updatePlaylistDetails({ playlistId, name: name.value.trim() }).then(() => {
        if (playlist) playlist.name = name.value.trim();
        reload();
      });
    });
    return h(
      "div",
      {},
      rename,
      h(
        "div",
        { class: "album-head" },
        cover(picture, 192, "cover album-cover playlist-cover"),
        h(
          "div",
          {},
          h("p", { class: "sub" }, playlist?.description ?? ""),
          h("p", { class: "sub playlist-visibility" }, playlist?.public ? "Public: anyone can find it" : "Private"),
          h("button", { class: "primary", disabled: tracks.length === 0, onclick: () => void app.player.playList(tracks, 0, context) }, "Play"),
          playlist &&
            h(
              "button",
              {
                class: "toggle-public",
                // Only the owner may change it; anyone else is told why by the error.
                onclick: (event: Event) =>
                  void playlists
                    .updatePlaylistDetails({ playlistId, public: !playlist.public })
                    .then(reload)
                    .catch((error) => (event.target as HTMLElement).after(h("p", { class: "error", role: "alert" }, describeError(error)))),
              },
              playlist.public ? "Make private" : "Make public",
            ),
        ),
      ),
      trackList(app, tracks, {
        context,
        empty: "This playlist is empty: add tracks with “+ Playlist”.",
        remove: (position) => void playlists.removePlaylistItems({ playlistId, itemIds: [itemIds[position]] }).then(reload),
        // The contract moves a range before an index of the list as it was.
        move: (from, to) =>
          void playlists
            .movePlaylistItems({
              playlistId,
              rangeStart: positions[from],
              rangeLength: 1,
              insertBefore: to > from ? positions[to] + 1 : positions[to],
            })
            .then(reload),
      }),
    );
  };
}

/** The listener's liked songs. */
export function likedView(app: App) {
  return async (): Promise<Node> => {
    const { tracks: liked } = await playlists.listLikedTracks({ pageSize: 200 });
    const tracks = await tracksByIds(liked.map((item) => item.trackId));
    const context = { type: PlayContextType.LIKED_SONGS, id: "" };
    return h(
      "div",
      {},
      h("button", { class: "primary", disabled: tracks.length === 0, onclick: () => void app.player.playList(tracks, 0, context) }, "Play"),
      trackList(app, tracks, { context, empty: "No liked songs yet: press ♥ on a track." }),
    );
  };
}

/** Opens the "add to playlist" dialog for `track`. */
export async function addToPlaylist(track: QueueTrack): Promise<void> {
  const dialog = byId<HTMLDialogElement>("playlist-dialog");
  const body = dialog.querySelector(".dialog-body") as HTMLElement;
  mount(body, h("p", {}, "Loading…"));
  dialog.showModal();
  try {
    const { playlists: mine } = await playlists.listMyPlaylists({ pageSize: 100 });
    const owned = mine.flatMap((entry) => (entry.playlist ? [entry.playlist] : []));
    const add = (playlistId: string, name: string) =>
      playlists
        .addPlaylistItems({ playlistId, trackIds: [track.id] })
        .then(() => mount(body, h("p", { role: "status" }, `Added “${track.title}” to ${name}.`)))
        .catch((error) => mount(body, h("p", { class: "error", role: "alert" }, describeError(error))));
    mount(
      body,
      h("p", {}, `Add “${track.title}” to:`),
      owned.length === 0 && h("p", { class: "empty" }, "You have no playlists yet."),
      h("ul", { class: "plain" }, ...owned.map((playlist) => h("li", {}, h("button", { onclick: () => void add(playlist.id, playlist.name) }, playlist.name)))),
      h(
        "button",
        {
          onclick: () =>
            void playlists
              .createPlaylist({ requestId: crypto.randomUUID(), name: `${track.title} mix`, trackIds: [track.id] })
              .then(() => mount(body, h("p", { role: "status" }, `Created “${track.title} mix”.`))),
        },
        "New playlist with this track",
      ),
    );
  } catch (error) {
    mount(body, h("p", { class: "error", role: "alert" }, describeError(error)));
  }
}
