// "For you" (RecommendationService.Recommend) and "Radio" (Radio from a seed track).

import { reco } from "../api/clients";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { tracksByIds, type QueueTrack } from "../player/track";
import { h } from "../ui/dom";
import type { App } from "./context";
import { trackList } from "./tracks";

/** The listener's recommendations. */
export function forYouView(app: App) {
  return async (): Promise<Node> => {
    const { recommendations } = await reco.recommend({ limit: 30 });
    const tracks = await tracksByIds(recommendations.map((item) => item.trackId));
    const reasons = new Map(recommendations.map((item) => [item.trackId, item.reason?.text ?? ""]));
    const context = { type: PlayContextType.RECOMMENDATIONS, id: "" };
    return h(
      "div",
      {},
      h("button", { class: "primary", disabled: tracks.length === 0, onclick: () => void app.player.playList(tracks, 0, context) }, "Play all"),
      trackList(
        app,
        tracks.map((track) => ({ ...track, album: reasons.get(track.id) || track.album })),
        { context, empty: "Nothing to recommend yet: play a few tracks." },
      ),
    );
  };
}

/** An endless station from `seed`: the seed first, then the radio's continuation. */
export function radioView(app: App, seed: QueueTrack) {
  return async (): Promise<Node> => {
    const { tracks: items } = await reco.radio({ seedTrackId: seed.id, limit: 30 });
    const tracks = await tracksByIds(items.map((item) => item.trackId).filter((id) => id !== seed.id));
    const station = [seed, ...tracks];
    const context = { type: PlayContextType.RADIO, id: seed.id };
    return h(
      "div",
      {},
      h("button", { class: "primary", onclick: () => void app.player.playList(station, 0, context) }, "Play radio"),
      trackList(app, station, { context, empty: "" }),
    );
  };
}
