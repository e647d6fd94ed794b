// The player bar at the bottom of the page: what plays (with its cover), transport buttons, the seek slider,
// the quality indicator with its manual override, and the play-report status.

import { AudioQuality } from "../gen/tunemesh/catalog/v1/audio_quality_pb";
import { qualityName } from "../player/abr";
import type { Player } from "../player/controller";
import { clock, type QueueTrack } from "../player/track";
import { cover } from "./cover";
import { byId, h, mount } from "./dom";
import { icon } from "./icons";

const QUALITY_KEYS: Record<string, AudioQuality | null> = {
  auto: null,
  low: AudioQuality.LOW,
  normal: AudioQuality.NORMAL,
  high: AudioQuality.HIGH,
  very_high: AudioQuality.VERY_HIGH,
};

/** CSS pixels of the playing track's cover (`.now-cover` in app.css). */
const NOW_COVER = 56;

function kbps(bps: number | null): string {
  if (bps === null || bps <= 0) return "–";
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

/** Builds the bar into `#player-bar` and keeps it current. */
export function playerBar(player: Player, addToPlaylist: (track: QueueTrack) => void): void {
  const audio = player.audio;
  const title = h("div", { class: "now-title", id: "now-title" }, "Nothing playing");
  const artist = h("div", { class: "now-artist", id: "now-artist" });
  const art = h("div", { class: "now-cover", id: "now-cover" });
  let artId: string | null = null;
  const save = h(
    "button",
    {
      id: "save-current",
      class: "small",
      onclick: () => {
        const entry = player.queue.current;
        if (entry) addToPlaylist(entry.track);
      },
    },
    "+ Playlist",
  );
  const playButton = h("button", { id: "play-pause", class: "round", "aria-label": "Play", onclick: () => void player.toggle() }, icon("play"));
  const previous = h("button", { id: "previous", "aria-label": "Previous track", onclick: () => void player.previous() }, icon("previous"));
  const next = h("button", { id: "next", "aria-label": "Next track", onclick: () => void player.next() }, icon("next"));
  const elapsed = h("span", { class: "time", id: "elapsed" }, "0:00");
  const total = h("span", { class: "time", id: "total" }, "0:00");
  const seek = h("input", { type: "range", id: "seek", min: 0, max: 0, step: 0.1, value: 0, "aria-label": "Seek" });
  let dragging = false;
  seek.addEventListener("input", () => {
    dragging = true;
    elapsed.textContent = clock(Number(seek.value));
  });
  seek.addEventListener("change", () => {
    dragging = false;
    player.seek(Number(seek.value));
  });
  const select = h(
    "select",
    { id: "quality-select", "aria-label": "Audio quality" },
    h("option", { value: "auto" }, "Auto"),
    h("option", { value: "low" }, "Low"),
    h("option", { value: "normal" }, "Normal"),
    h("option", { value: "high" }, "High"),
    h("option", { value: "very_high" }, "Very high"),
  );
  select.addEventListener("change", () => player.setQuality(QUALITY_KEYS[select.value] ?? null));
  const indicator = h("output", { id: "quality-indicator", class: "quality", "aria-live": "polite" }, "–");
  const stats = h("div", { id: "stream-stats", class: "stats" });
  const reports = h("div", { id: "report-status", class: "stats", "data-acknowledged": 0, "data-counted": "false" });
  const error = h("div", { id: "player-error", class: "error", role: "alert" });

  mount(
    byId("player-bar"),
    h("div", { class: "now" }, art, h("div", { class: "now-text" }, title, artist, save)),
    h(
      "div",
      { class: "transport" },
      h("div", { class: "buttons" }, previous, playButton, next),
      h("div", { class: "scrub" }, elapsed, seek, total),
      error,
    ),
    h("div", { class: "quality-box" }, h("label", { for: "quality-select" }, "Quality"), select, indicator, stats, reports),
  );

  const renderTime = () => {
    const duration = Number.isFinite(audio.duration) ? audio.duration : (player.queue.current?.track.duration ?? 0);
    seek.max = String(duration);
    total.textContent = clock(duration);
    reports.dataset.played = player.reporter.played.toFixed(1);
    if (!dragging) {
      seek.value = String(audio.currentTime);
      elapsed.textContent = clock(audio.currentTime);
    }
  };
  const renderStatus = () => {
    const status = player.engine.status();
    const playing = status.playing ?? status.loading;
    indicator.textContent = playing === null ? "–" : `${qualityName(playing)} · ${kbps(status.bitrateBps || null)}`;
    indicator.dataset.playing = playing === null ? "" : AudioQuality[playing].toLowerCase();
    indicator.dataset.loading = status.loading === null ? "" : AudioQuality[status.loading].toLowerCase();
    indicator.dataset.switches = String(status.switches);
    stats.textContent = `${status.bufferAhead.toFixed(0)} s buffered · network ${kbps(status.throughputBps)}`;
    renderTime();
  };
  const renderReports = () => {
    const reporter = player.reporter;
    reports.dataset.acknowledged = String(reporter.acknowledged);
    reports.dataset.counted = String(reporter.counted);
    reports.textContent = `${reporter.acknowledged} play reports sent${reporter.counted ? " · play counted" : ""}${
      reporter.failed ? ` · ${reporter.failed} failed` : ""
    }`;
  };
  const renderEntry = () => {
    const entry = player.queue.current;
    title.textContent = entry?.track.title ?? "Nothing playing";
    // Replaced only when the picture changes, so a queue edit does not reload it.
    const coverId = entry?.track.cover?.id ?? "";
    if (coverId !== artId) {
      artId = coverId;
      art.replaceChildren(cover(entry?.track.cover, NOW_COVER));
    }
    artist.textContent = entry ? [entry.track.artist, entry.track.album].filter(Boolean).join(" — ") : "";
    error.textContent = player.error;
    previous.disabled = !entry;
    save.disabled = !entry;
    save.setAttribute("aria-label", entry ? `Add ${entry.track.title} to a playlist` : "Add the current track to a playlist");
    next.disabled = player.queue.position + 1 >= player.queue.items.length;
    renderStatus();
  };
  const renderPlaying = () => {
    playButton.replaceChildren(icon(audio.paused ? "play" : "pause"));
    playButton.setAttribute("aria-label", audio.paused ? "Play" : "Pause");
  };

  audio.addEventListener("timeupdate", renderTime);
  audio.addEventListener("durationchange", renderTime);
  audio.addEventListener("play", renderPlaying);
  audio.addEventListener("pause", renderPlaying);
  player.engine.addEventListener("status", renderStatus);
  player.reporter.addEventListener("report", renderReports);
  player.addEventListener("change", renderEntry);
  player.queue.addEventListener("change", renderEntry);
  renderEntry();
  renderPlaying();
  renderReports();
}
