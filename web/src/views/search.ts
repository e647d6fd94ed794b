// The search box: results as you type (SearchService), tracks first, then albums, artists and
// public playlists.

import { describeError, search } from "../api/clients";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { fromTrack } from "../player/track";
import { cards } from "../ui/cards";
import { h } from "../ui/dom";
import { albumView, albumsView } from "./browse";
import type { App } from "./context";
import { firstTracks, playlistCover, playlistView } from "./playlists";
import { trackList } from "./tracks";

/** Waits this long after the last key before asking, so typing a word costs one call. */
const DEBOUNCE_MS = 200;

/** Wires the header's search box to show results in the main region. */
export function searchBox(app: App, input: HTMLInputElement): void {
  let timer = 0;
  // Answers can arrive out of order; only the newest query's answer is shown.
  let latest = 0;
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      const query = input.value.trim();
      if (!query) return;
      const ticket = ++latest;
      app.show(`Results for “${query}”`, async () => {
        const results = await resultsFor(app, query).catch((error) => h("p", { class: "error" }, describeError(error)));
        return ticket === latest ? results : h("div");
      }, "search");
    }, DEBOUNCE_MS);
  });
}

async function resultsFor(app: App, query: string): Promise<Node> {
  const response = await search.search({ query, pageSize: 30 });
  const tracks = response.results.flatMap((result) => (result.item.case === "track" ? [fromTrack(result.item.value)] : []));
  const albums = response.results.flatMap((result) => (result.item.case === "album" ? [result.item.value] : []));
  const artists = response.results.flatMap((result) => (result.item.case === "artist" ? [result.item.value] : []));
  const lists = response.results.flatMap((result) => (result.item.case === "playlist" ? [result.item.value] : []));
  if (tracks.length + albums.length + artists.length + lists.length === 0) return h("p", { class: "empty" }, "Nothing found.");
  const covers = lists.length > 0 ? await firstTracks(lists) : new Map();
  return h(
    "div",
    { class: "results" },
    tracks.length > 0 && h("h2", {}, "Tracks"),
    tracks.length > 0 && trackList(app, tracks, { context: { type: PlayContextType.SEARCH, id: query }, empty: "" }),
    albums.length > 0 && h("h2", {}, "Albums"),
    albums.length > 0 &&
      cards(
        albums.map((album) => ({
          title: album.title,
          sub: album.artists.map((artist) => artist.name).join(", "),
          image: album.cover,
          open: () => app.show(album.title, albumView(app, album.id), "browse"),
        })),
      ),
    artists.length > 0 && h("h2", {}, "Artists"),
    artists.length > 0 &&
      cards(
        artists.map((artist) => ({
          title: artist.name,
          image: artist.image,
          open: () => app.show(artist.name, albumsView(app, artist.id), "browse"),
        })),
      ),
    lists.length > 0 && h("h2", {}, "Playlists"),
    lists.length > 0 &&
      cards(
        lists.map((playlist) => ({
          title: playlist.name,
          sub: `${playlist.itemCount} tracks · ${playlist.followerCount} ${playlist.followerCount === 1 ? "follower" : "followers"}`,
          kind: "playlist-link",
          image: playlistCover(playlist, covers),
          open: () => app.show(playlist.name, playlistView(app, playlist.id), "playlists"),
        })),
      ),
  );
}
