// The web player's entry point: signs in (or restores the session), then wires the views,
// the queue and the player bar together.

import { describeError } from "./api/clients";
import { isAdmin, logOut, onSessionChange, refresh } from "./api/session";
import { Player } from "./player/controller";
import { mediaSession } from "./player/media_session";
import { shareQueue } from "./player/queue_share";
import { byId, h, mount } from "./ui/dom";
import { playerBar } from "./ui/player_bar";
import { queuePanel } from "./ui/queue_panel";
import { authView } from "./views/auth";
import { artistsView } from "./views/browse";
import type { App, View } from "./views/context";
import { addToPlaylist, likedView, playlistsView } from "./views/playlists";
import { forYouView, radioView } from "./views/reco";
import { searchBox } from "./views/search";
import { subsonicAppsView } from "./views/subsonic";
import { uploadView } from "./views/upload";

const audio = byId<HTMLAudioElement>("audio");
const player = new Player(audio);
const main = byId("view");
const heading = byId("view-title");
// A slow view must not replace one the listener opened after it.
let shown = 0;

const app: App = {
  player,
  show(title: string, view: View, section?: string) {
    const ticket = ++shown;
    heading.textContent = title;
    document.title = `${title} · tunemesh`;
    document.querySelectorAll("nav [data-section]").forEach((link) => {
      if ((link as HTMLElement).dataset.section === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    main.setAttribute("aria-busy", "true");
    view()
      .catch((error: unknown) => h("p", { class: "error", role: "alert" }, describeError(error)))
      .then((node) => {
        if (ticket !== shown) return;
        mount(main, node);
        main.removeAttribute("aria-busy");
      });
  },
  addMusic() {
    sections.upload?.();
  },
  radio(track) {
    app.show(`Radio: ${track.title}`, radioView(app, track), "radio");
  },
  addToPlaylist(track) {
    void addToPlaylist(track);
  },
};

const sections: Record<string, () => void> = {
  browse: () => app.show("Browse", artistsView(app), "browse"),
  "for-you": () => app.show("For you", forYouView(app), "for-you"),
  playlists: () => app.show("Playlists", playlistsView(app), "playlists"),
  liked: () => app.show("Liked songs", likedView(app), "liked"),
  upload: () => app.show("Add music", uploadView(app), "upload"),
  "subsonic-apps": () => app.show("Subsonic apps", subsonicAppsView(), "subsonic-apps"),
  radio: () => {
    const current = player.queue.current;
    if (current) app.radio(current.track);
    else app.show("Radio", async () => h("p", { class: "empty" }, "Play a track, then start its radio here."), "radio");
  },
};

document.querySelectorAll<HTMLButtonElement>("nav [data-section]").forEach((button) => {
  button.addEventListener("click", () => sections[button.dataset.section ?? "browse"]?.());
});
byId("logout").addEventListener("click", () => {
  audio.pause();
  void logOut();
});
byId("dialog-close").addEventListener("click", () => byId<HTMLDialogElement>("playlist-dialog").close());
searchBox(app, byId<HTMLInputElement>("search"));
playerBar(player, (track) => app.addToPlaylist(track));
queuePanel(player);
mediaSession(player);
// The queue follows the listener across devices and Subsonic apps.
const queueShare = shareQueue(player);

const signedOut = byId("signed-out");
const signedIn = byId("signed-in");
const headerTools = byId("signed-in-header");
const showSignedIn = (isIn: boolean) => {
  signedOut.hidden = isIn;
  signedIn.hidden = !isIn;
  headerTools.hidden = !isIn;
  byId("nav-upload").hidden = !(isIn && isAdmin());
};
onSessionChange((isIn) => {
  showSignedIn(isIn);
  if (isIn) {
    sections.browse();
    void queueShare.restore();
  }
});
authView(byId("auth"));
void refresh().then((ok) => {
  if (!ok) showSignedIn(false);
});
