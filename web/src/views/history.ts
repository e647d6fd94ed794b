// Listening history: "Recently played" on the home page and an artist's top tracks
// (RecommendationService.RecentlyPlayed and TopTracks, resolved through the catalogue).
// Both are extras on their page: without history, or while reco-svc is loading, they are
// simply not shown.

import { catalog, reco } from "../api/clients";
import type { Album } from "../gen/tunemesh/catalog/v1/album_pb";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { tracksByIds } from "../player/track";
import { cards } from "../ui/cards";
import { h } from "../ui/dom";
import type { App } from "./context";
import { trackList } from "./tracks";

/** Albums shown under "Recently played". */
const RECENT_ALBUMS = 12;
/** Tracks shown under "Top tracks". */
const TOP_TRACKS = 5;

/** The albums of the listener's latest plays, newest first; null when there are none. */
export async function recentlyPlayed(open: (album: Album) => void): Promise<HTMLElement | null> {
  try {
    const { albums: played } = await reco.recentlyPlayed({ limit: RECENT_ALBUMS });
    if (played.length === 0) return null;
    const { albums } = await catalog.batchGetAlbums({ albumIds: played.map((album) => album.albumId) });
    const byId = new Map(albums.map((album) => [album.id, album]));
    const shown = played.flatMap((album) => byId.get(album.albumId) ?? []);
    if (shown.length === 0) return null;
    return h(
      "section",
      { id: "recently-played" },
      h("h2", {}, "Recently played"),
      cards(
        shown.map((album) => ({
          title: album.title,
          sub: album.artists.map((artist) => artist.name).join(", "),
          kind: "album-link recent-album",
          image: album.cover,
          open: () => open(album),
        })),
      ),
    );
  } catch {
    return null;
  }
}

/** The artist's most played tracks (all listeners); null when nobody played them yet. */
export async function topTracks(app: App, artistId: string): Promise<HTMLElement | null> {
  try {
    const { tracks: top } = await reco.topTracks({ artistId, limit: TOP_TRACKS });
    const tracks = await tracksByIds(top.map((track) => track.trackId));
    if (tracks.length === 0) return null;
    const plays = new Map(top.map((track) => [track.trackId, track.plays]));
    return h(
      "section",
      { id: "top-tracks" },
      h("h2", {}, "Top tracks"),
      trackList(
        app,
        // The album column also says how often it was played.
        tracks.map((track) => ({ ...track, album: [plural(plays.get(track.id) ?? 0n, "play"), track.album].filter(Boolean).join(" · ") })),
        { context: { type: PlayContextType.ARTIST, id: artistId }, empty: "" },
      ),
    );
  } catch {
    return null;
  }
}

/** `1 play`, `12 plays`. */
function plural(count: bigint, word: string): string {
  return `${count} ${word}${count === 1n ? "" : "s"}`;
}
