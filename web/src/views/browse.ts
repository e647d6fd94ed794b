// Browsing the catalogue: artists, then an artist's albums, then an album's tracks.

import { catalog } from "../api/clients";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { fromTrack } from "../player/track";
import { h } from "../ui/dom";
import type { App } from "./context";
import { trackList } from "./tracks";

/** The catalogue's pages are read whole, up to this many items (a personal library fits). */
const PAGE = 200;

/** All artists, linking to their albums. */
export function artistsView(app: App) {
  return async (): Promise<Node> => {
    const { artists } = await catalog.listArtists({ pageSize: PAGE });
    if (artists.length === 0) return h("p", { class: "empty" }, "The library is empty: start tunemesh with --library DIR.");
    return h(
      "ul",
      { class: "cards" },
      ...artists.map((artist) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              class: "card artist-link",
              onclick: () => app.show(artist.name, albumsView(app, artist.id), "browse"),
            },
            h("span", { class: "card-title" }, artist.name),
            h("span", { class: "sub" }, `${artist.albumCount} albums · ${artist.trackCount} tracks`),
          ),
        ),
      ),
    );
  };
}

/** The albums of one artist. */
export function albumsView(app: App, artistId: string) {
  return async (): Promise<Node> => {
    const { albums } = await catalog.listAlbums({ pageSize: PAGE, artistId });
    return h(
      "ul",
      { class: "cards" },
      ...albums.map((album) =>
        h(
          "li",
          {},
          h(
            "button",
            { class: "card album-link", onclick: () => app.show(album.title, albumView(app, album.id), "browse") },
            h("span", { class: "card-title" }, album.title),
            h("span", { class: "sub" }, [album.year || "", `${album.trackCount} tracks`].filter(Boolean).join(" · ")),
          ),
        ),
      ),
    );
  };
}

/** The tracks of one album, in album order. */
export function albumView(app: App, albumId: string) {
  return async (): Promise<Node> => {
    const { tracks } = await catalog.listTracks({ pageSize: PAGE, filter: { case: "albumId", value: albumId } });
    const list = tracks.map(fromTrack);
    return h(
      "div",
      {},
      h(
        "button",
        {
          class: "primary",
          onclick: () => void app.player.playList(list, 0, { type: PlayContextType.ALBUM, id: albumId }),
          disabled: list.length === 0,
        },
        "Play album",
      ),
      trackList(app, list, { context: { type: PlayContextType.ALBUM, id: albumId }, empty: "No tracks yet." }),
    );
  };
}
