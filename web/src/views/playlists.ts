// Playlists: the listener's own (PlaylistService.ListMyPlaylists), creating one, a playlist's
// tracks with play and remove (rename and visibility for its owner, follow for anyone else),
// the mixes made for the listener ("Made for you": generated, read-only), and adding a track
// to a playlist from any list.

import { describeError, playlists } from "../api/clients";
import { currentUserId } from "../api/session";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { PlaylistRelation } from "../gen/tunemesh/playlist/v1/playlist_pb";
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

/** Mixes shown under "Made for you". */
const MADE_FOR_YOU = 12;

/** The playlists generated for the listener (the daily mix), for the home page; null when
 * there are none yet (or playlist-svc does not answer: the section is an extra). */
export async function madeForYou(app: App): Promise<HTMLElement | null> {
  try {
    const { playlists: made } = await playlists.listMyPlaylists({ pageSize: MADE_FOR_YOU, relations: [PlaylistRelation.MADE_FOR_YOU] });
    const mixes = made.flatMap((entry) => (entry.playlist ? [entry.playlist] : []));
    if (mixes.length === 0) return null;
    const covers = await firstTracks(mixes);
    return h(
      "section",
      { id: "made-for-you" },
      h("h2", {}, "Made for you"),
      cards(
        mixes.map((playlist) => ({
          title: playlist.name,
          sub: `${playlist.itemCount} tracks`,
          kind: "playlist-link made-for-you-link",
          image: playlistCover(playlist, covers),
          open: () => app.show(playlist.name, playlistView(app, playlist.id), "browse"),
        })),
      ),
    );
  } catch {
    return null;
  }
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
    const reload = (title = playlist?.name ?? "Playlist") => app.show(title, playlistView(app, playlistId), "playlists");
    const owned = !!playlist && playlist.ownerId === currentUserId();
    // A mix made for the listener is read-only: play and follow, no edits.
    const generated = !!playlist?.generated;
    const failed = (event: Event) => (error: unknown) =>
      (event.target as HTMLElement).after(h("p", { class: "error", role: "alert" }, describeError(error)));
    // Only the owner may rename it or change who sees it; anyone else may follow it.
    const controls = playlist && (owned ? ownerControls(playlistId, playlist.name, playlist.public, reload, failed) : await followButton(playlistId, reload, failed));
    return h(
      "div",
      {},
      controls?.form,
      h(
        "div",
        { class: "album-head" },
        cover(picture, 192, "cover album-cover playlist-cover"),
        h(
          "div",
          {},
          h("p", { class: "sub" }, playlist?.description ?? ""),
          h("p", { class: "sub playlist-visibility" }, generated ? "Made for you" : playlist?.public ? "Public: anyone can find it" : "Private"),
          h("button", { class: "primary", disabled: tracks.length === 0, onclick: () => void app.player.playList(tracks, 0, context) }, "Play"),
          controls?.button,
        ),
      ),
      trackList(app, tracks, {
        context,
        empty: generated ? "This mix is empty." : "This playlist is empty: add tracks with “+ Playlist”.",
        ...(generated ? {} : editing(playlistId, itemIds, positions, reload)),
      }),
    );
  };
}

/** Removing and moving items, for playlists people edit. */
function editing(playlistId: string, itemIds: string[], positions: number[], reload: () => void) {
  return {
    remove: (position: number) => void playlists.removePlaylistItems({ playlistId, itemIds: [itemIds[position]] }).then(() => reload()),
    // The contract moves a range before an index of the list as it was.
    move: (from: number, to: number) =>
      void playlists
        .movePlaylistItems({
          playlistId,
          rangeStart: positions[from],
          rangeLength: 1,
          insertBefore: to > from ? positions[to] + 1 : positions[to],
        })
        .then(() => reload()),
  };
}

/** What a playlist's page offers besides its tracks: a form above, a button beside Play. */
interface Controls {
  form?: Node;
  button: Node;
}

/** Reports a failed action next to the control that started it. */
type Failed = (event: Event) => (error: unknown) => void;

/** The owner's controls: rename, and make public or private. */
function ownerControls(playlistId: string, current: string, isPublic: boolean, reload: (title?: string) => void, failed: Failed): Controls {
  const name = h("input", { id: "rename-playlist", value: current, required: true, maxlength: 100 });
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Rename the playlist" },
    h("label", { for: "rename-playlist", class: "visually-hidden" }, "Playlist name"),
    name,
    h("button", { type: "submit" }, "Rename"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const renamed = name.value.trim();
    void playlists
      .updatePlaylistDetails({ playlistId, name: renamed })
      .then(() => reload(renamed))
      .catch(failed(event));
  });
  const button = h(
    "button",
    {
      class: "toggle-public",
      onclick: (event: Event) =>
        void playlists
          .updatePlaylistDetails({ playlistId, public: !isPublic })
          .then(() => reload())
          .catch(failed(event)),
    },
    isPublic ? "Make private" : "Make public",
  );
  return { form, button };
}

/** Follows looked through to tell whether the listener follows a playlist (the contract's page bound). */
const FOLLOWS_PAGE = 200;
const FOLLOWS_PAGES = 5;

/** Whether the listener follows `playlistId`, from their library's followed playlists. */
async function follows(playlistId: string): Promise<boolean> {
  let pageToken = "";
  for (let page = 0; page < FOLLOWS_PAGES; page++) {
    const answer = await playlists.listMyPlaylists({ pageSize: FOLLOWS_PAGE, pageToken, relations: [PlaylistRelation.FOLLOWER] });
    if (answer.playlists.some((entry) => entry.playlist?.id === playlistId)) return true;
    if (!answer.nextPageToken) return false;
    pageToken = answer.nextPageToken;
  }
  return false;
}

/** Anyone but the owner: Follow or Unfollow (the playlist then shows in, or leaves, their playlists). */
async function followButton(playlistId: string, reload: (title?: string) => void, failed: Failed): Promise<Controls> {
  const following = await follows(playlistId).catch(() => false);
  const button = h(
    "button",
    {
      class: "toggle-follow",
      "aria-pressed": following ? "true" : "false",
      onclick: (event: Event) =>
        void (following ? playlists.unfollowPlaylist({ playlistId }) : playlists.followPlaylist({ playlistId }))
          .then(() => reload())
          .catch(failed(event)),
    },
    following ? "Unfollow" : "Follow",
  );
  return { button };
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
