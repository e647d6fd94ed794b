// The OS media controls and lock screen (`navigator.mediaSession`): what plays, with its cover
// at several sizes, and the transport buttons wired to the player.

import { imageUrl } from "../ui/cover";
import type { Player } from "./controller";

/** Artwork sizes offered; the OS picks the one that fits its control. */
const ARTWORK = [128, 256, 512] as const;

/** Keeps the media session in step with `player`; nothing where the browser has none. */
export function mediaSession(player: Player): void {
  if (!("mediaSession" in navigator)) return;
  const session = navigator.mediaSession;
  const audio = player.audio;
  let shown = "";
  const update = () => {
    const track = player.queue.current?.track;
    // The same track again (a queue edit) keeps its metadata: no artwork reload.
    const key = track ? `${track.id}/${track.cover?.id ?? ""}` : "";
    if (key === shown) return;
    shown = key;
    session.metadata = track
      ? new MediaMetadata({
          title: track.title,
          artist: track.artist,
          album: track.album,
          artwork: ARTWORK.flatMap((size) => {
            const src = imageUrl(track.cover, size);
            return src ? [{ src: new URL(src, location.href).href, sizes: `${size}x${size}` }] : [];
          }),
        })
      : null;
  };
  player.addEventListener("change", update);
  player.queue.addEventListener("change", update);
  audio.addEventListener("play", () => (session.playbackState = "playing"));
  audio.addEventListener("pause", () => (session.playbackState = "paused"));
  const actions: [MediaSessionAction, MediaSessionActionHandler][] = [
    ["play", () => void (audio.paused && player.toggle())],
    ["pause", () => void (!audio.paused && player.toggle())],
    ["previoustrack", () => void player.previous()],
    ["nexttrack", () => void player.next()],
    ["seekto", (details) => details.seekTime !== undefined && player.seek(details.seekTime)],
  ];
  for (const [action, handler] of actions) {
    // Browsers throw for actions they do not support; the others still work.
    try {
      session.setActionHandler(action, handler);
    } catch {
      /* unsupported action */
    }
  }
  update();
}
