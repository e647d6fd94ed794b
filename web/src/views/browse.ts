// Browsing the catalogue: artists (with what the listener played lately), then an artist's
// top tracks and albums, then an album's tracks.

import { catalog } from "../api/clients";
import { isAdmin } from "../api/session";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { fromTrack } from "../player/track";
import { cards } from "../ui/cards";
import { cover } from "../ui/cover";
import { h } from "../ui/dom";
import type { App } from "./context";
import { recentlyPlayed, topTracks } from "./history";
import { madeForYou } from "./playlists";
import { trackList } from "./tracks";

/** The catalogue's pages are read whole, up to this many items (a personal library fits). */
const PAGE = 200;

/** How often the artists view looks again while the server scans its music folder. */
const SCAN_POLL_MS = 2000;

/** The home page: the mixes made for the listener, the albums they played lately, then all
 * artists, linking to their albums. While the server reads its music folder (`tunemesh up --library DIR`), the view
 * says how far the scan is and fills in as tracks become playable. */
export function artistsView(app: App) {
  return async (): Promise<Node> => {
    const root = h("div", { id: "artists" });
    const [mixes, recent] = await Promise.all([
      madeForYou(app),
      recentlyPlayed((album) => app.show(album.title, albumView(app, album.id), "browse")),
      fillArtists(app, root),
    ]);
    if (!mixes && !recent) return root;
    return h("div", {}, mixes, recent, h("section", { id: "all-artists" }, h("h2", {}, "Artists"), root));
  };
}

async function fillArtists(app: App, root: HTMLElement): Promise<void> {
  const [{ artists }, status] = await Promise.all([
    catalog.listArtists({ pageSize: PAGE }),
    // Only for the progress line: a server that cannot say shows the list without it.
    catalog.getLibraryStatus({}).catch(() => undefined),
  ]);
  const scanning = status?.scanning ?? false;
  const parts: Node[] = [];
  if (scanning) {
    const progress = status?.progress;
    const counts = progress && progress.filesTotal > 0 ? `: ${progress.filesDone} of ${progress.filesTotal} files` : "";
    parts.push(
      h("p", { class: "muted", id: "library-scan", role: "status" }, `Adding music from the server's folder${counts}.`),
    );
  }
  if (artists.length === 0) {
    parts.push(scanning ? h("p", { class: "empty" }, "Tracks appear here as they become playable.") : emptyLibrary(app));
  } else {
    parts.push(
      cards(
        artists.map((artist) => ({
          title: artist.name,
          sub: `${artist.albumCount} albums · ${artist.trackCount} tracks`,
          kind: "artist-link",
          image: artist.image,
          open: () => app.show(artist.name, albumsView(app, artist.id), "browse"),
        })),
      ),
    );
  }
  root.replaceChildren(...parts);
  if (scanning) {
    // Until the scan ends or the listener leaves the view (it is then out of the page).
    setTimeout(() => {
      if (root.isConnected) fillArtists(app, root).catch(() => undefined);
    }, SCAN_POLL_MS);
  }
}

/** What an empty library says: the admin is shown how to add music, everyone else why not. */
function emptyLibrary(app: App): Node {
  if (!isAdmin()) {
    return h("p", { class: "empty", id: "empty-library" }, "The library is empty: the admin has not added music yet.");
  }
  return h(
    "div",
    { class: "empty", id: "empty-library" },
    h("p", {}, "Your library is empty. Add music here, or start tunemesh with --library DIR on the server."),
    h("button", { type: "button", class: "primary", onclick: () => app.addMusic() }, "Add music"),
  );
}

/** The albums of one artist, under the artist's picture and their top tracks. */
export function albumsView(app: App, artistId: string) {
  return async (): Promise<Node> => {
    const [{ albums }, { artist }, top] = await Promise.all([
      catalog.listAlbums({ pageSize: PAGE, artistId }),
      catalog.getArtist({ artistId }),
      topTracks(app, artistId),
    ]);
    return h(
      "div",
      {},
      h(
        "div",
        { class: "album-head" },
        cover(artist?.image, 192, "cover album-cover artist-picture"),
        h("p", { class: "sub" }, artist ? `${artist.albumCount} albums · ${artist.trackCount} tracks` : ""),
      ),
      top,
      top && h("h2", {}, "Albums"),
      cards(
        albums.map((album) => ({
          title: album.title,
          sub: [album.year || "", `${album.trackCount} tracks`].filter(Boolean).join(" · "),
          kind: "album-link",
          image: album.cover,
          open: () => app.show(album.title, albumView(app, album.id), "browse"),
        })),
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
        "div",
        { class: "album-head" },
        cover(list.find((track) => track.cover)?.cover, 192, "cover album-cover"),
        h(
          "button",
          {
            class: "primary",
            onclick: () => void app.player.playList(list, 0, { type: PlayContextType.ALBUM, id: albumId }),
            disabled: list.length === 0,
          },
          "Play album",
        ),
      ),
      trackList(app, list, { context: { type: PlayContextType.ALBUM, id: albumId }, empty: "No tracks yet." }),
    );
  };
}
