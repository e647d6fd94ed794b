// The web player in a real browser (Debian Chromium, driven by playwright-core): sign up
// through the page, see the library grid with real covers (screenshot
// web-player-covers.png), play an ingested track, let it pass 10 s, force a quality switch mid-track
// and check that playback never stalls across it, seek, and see play reports acknowledged by
// the gateway; play the next track and find the counted play under "Recently played" on the
// home page (screenshot web-player-home.png) and among the artist's top tracks, and the daily
// mix it led to under "Made for you" (opened read-only); then check a
// listener is not offered "Add music", log in as the admin (the
// first account, made by the Rust side), add a folder of music through "Add music" and watch
// each file reach its final state; in between, make a public playlist, find it by a typo in
// the search box, see the owner's controls on it, and follow it as the admin; create a
// Subsonic app password, use it on /rest, see its last client, revoke it; then one for legacy
// clients, signed in with a token (t = md5(secret + salt)). Saves
// screenshots either way. Run by
// tests/mesh/web_player.rs:
//
//   node web/tests/player.mjs BASE_URL ARTIFACT_DIR [UPLOAD_FOLDER ADMIN_LOGIN ADMIN_PASSWORD]
//
// Exits 0 on success; otherwise prints what failed and exits 1.

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, artifacts, uploadFolder, adminLogin, adminPassword] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node web/tests/player.mjs BASE_URL ARTIFACT_DIR");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const log = (...parts) => console.log("[player.mjs]", ...parts);

/** Polls `probe` (run in the page) until `accept` holds for its value, or fails after `ms`. */
async function until(page, what, probe, accept, ms, arg) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await page.evaluate(probe, arg);
    if (accept(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last value ${JSON.stringify(last)}`);
}

const audioState = () => {
  const audio = document.getElementById("audio");
  const ranges = [];
  for (let i = 0; i < audio.buffered.length; i++) ranges.push([audio.buffered.start(i), audio.buffered.end(i)]);
  const indicator = document.getElementById("quality-indicator");
  const reports = document.getElementById("report-status");
  return {
    time: audio.currentTime,
    duration: audio.duration,
    paused: audio.paused,
    ranges,
    playing: indicator.dataset.playing,
    loading: indicator.dataset.loading,
    switches: Number(indicator.dataset.switches ?? 0),
    indicator: indicator.textContent,
    acknowledged: Number(reports.dataset.acknowledged ?? 0),
    counted: reports.dataset.counted === "true",
    played: Number(reports.dataset.played ?? 0),
    probe: window.__probe,
    error: document.getElementById("player-error").textContent,
  };
};

const profile = await mkdtemp(join(tmpdir(), "tunemesh-chromium-"));
await mkdir(artifacts, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    // The test clicks Play like a listener, but headless runs have no audio device to unlock.
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() === "error") problems.push(`console: ${message.text()}`);
});

let failed = null;
try {
  await page.goto(base, { waitUntil: "load" });

  // Sign up through the form, as a listener would.
  const name = `web${Date.now().toString(36)}`;
  await page.fill("#signup-email", `${name}@example.com`);
  await page.fill("#signup-username", name);
  await page.fill("#signup-password", "correct horse battery");
  await page.click("#signup-form button[type=submit]");
  await page.waitForSelector("#signed-in:not([hidden])", { timeout: 15000 });
  log("signed up as", name);

  // The library grid shows real covers (the library folder has one): the artist's picture
  // is its album's cover, loaded from the gateway's image route.
  const loaded = (selector) => {
    const img = document.querySelector(selector);
    return img ? { src: img.currentSrc, complete: img.complete, width: img.naturalWidth } : null;
  };
  const picture = await until(page, "an artist card's cover to load", loaded, (s) => s?.complete && s.width > 0, 15000, ".artist-link img.cover");
  log("artist picture:", JSON.stringify(picture));
  if (!picture.src.includes("/v1/images/")) throw new Error(`the cover is not the gateway's: ${picture.src}`);
  await page.screenshot({ path: join(artifacts, "web-player-covers.png") });

  // Browse artist -> album -> a track of at least a minute.
  await page.click(".artist-link >> nth=0", { timeout: 15000 });
  await until(page, "the artist page's picture and album cover", (selectors) => selectors.map((selector) => document.querySelector(selector)?.naturalWidth ?? 0), (widths) => widths.every((w) => w > 0), 15000, [".artist-picture", ".album-link img.cover"]);
  await page.click(".album-link >> nth=0", { timeout: 15000 });
  await page.waitForSelector("table.tracks");
  const rows = await page.$$eval("table.tracks tbody tr", (trs) =>
    trs.map((tr) => ({ id: tr.dataset.trackId, time: tr.querySelector("td.num:nth-of-type(4)")?.textContent ?? "0:00" })),
  );
  const seconds = (clock) => clock.split(":").reduce((total, part) => total * 60 + Number(part), 0);
  const pick = rows.findIndex((row) => seconds(row.time) >= 75);
  if (pick < 0) throw new Error(`no track of 75 s or more on the first album: ${JSON.stringify(rows)}`);
  log("playing track", rows[pick].id, rows[pick].time);

  await page.evaluate(() => {
    const audio = document.getElementById("audio");
    const probe = { waiting: 0, stalled: 0, playing: 0, errors: 0 };
    window.__probe = probe;
    audio.addEventListener("waiting", () => probe.waiting++);
    audio.addEventListener("stalled", () => probe.stalled++);
    audio.addEventListener("playing", () => probe.playing++);
    audio.addEventListener("error", () => probe.errors++);
  });
  await page.click(`table.tracks tbody tr:nth-child(${pick + 1}) .play-track`);

  // currentTime passes 10 s.
  await until(page, "currentTime > 10 s", audioState, (s) => s.time > 10 || s.error, 45000).then((s) => {
    if (s.error) throw new Error(`player error: ${s.error}`);
  });
  const before = await page.evaluate(audioState);
  log("past 10 s:", JSON.stringify(before));

  // Force a quality switch mid-track with the manual override.
  const target = before.playing === "low" ? "high" : "low";
  const selectValue = { low: "low", high: "high" }[target];
  const switchAt = before.time;
  await page.selectOption("#quality-select", selectValue);
  const samples = [];
  const switched = await until(
    page,
    `the playhead to reach ${target} segments`,
    audioState,
    (s) => {
      samples.push(s.time);
      return s.playing === target;
    },
    30000,
  );
  // Play on a few seconds past the switch point, sampling the playhead.
  const after = await until(page, "3 s of playback after the switch", audioState, (s) => {
    samples.push(s.time);
    return s.time > switched.time + 3;
  }, 15000);
  log("after switch:", JSON.stringify(after));
  if (after.probe.waiting !== before.probe.waiting) throw new Error(`playback stalled (waiting) across the switch: ${JSON.stringify(after.probe)}`);
  if (after.switches < 1) throw new Error("no quality switch was appended");
  const span = after.ranges.find(([start, end]) => start <= switchAt + 0.05 && end >= after.time);
  if (!span) throw new Error(`buffered ranges not contiguous across the switch (${switchAt} to ${after.time}): ${JSON.stringify(after.ranges)}`);
  for (let i = 1; i < samples.length; i++) {
    if (samples[i] < samples[i - 1]) throw new Error(`currentTime went backwards: ${samples[i - 1]} -> ${samples[i]}`);
  }
  // Sampled every ~200 ms: a frozen playhead over a second of samples is a stall.
  for (let i = 6; i < samples.length; i++) {
    if (samples[i] === samples[i - 6]) throw new Error(`currentTime froze at ${samples[i]} during the switch`);
  }

  // Seek through the slider, past what is buffered.
  const seekTo = Math.min(after.duration - 20, Math.max(after.time + 35, after.duration * 0.6));
  await page.evaluate((to) => {
    const slider = document.getElementById("seek");
    slider.value = String(to);
    slider.dispatchEvent(new Event("input"));
    slider.dispatchEvent(new Event("change"));
  }, seekTo);
  const seeked = await until(page, `playback past ${seekTo + 2} s after seeking`, audioState, (s) => s.time > seekTo + 2 && s.time < seekTo + 15, 20000);
  log("seeked:", JSON.stringify(seeked));

  // Play reports: acknowledged by the gateway; after 30 s heard, the play counts (sent on pause).
  await until(page, "31 s heard", audioState, (s) => s.played > 31, 30000);
  await page.click("#play-pause");
  const reported = await until(page, "a counted play report", audioState, (s) => s.counted && s.acknowledged >= 3, 15000);
  log("reports:", JSON.stringify(reported));
  if (reported.probe.errors > 0) throw new Error("the audio element reported an error");

  // Listening history: the next track ends the counted session (a play, though left early),
  // then the home page shows its album under "Recently played" and the artist page the track
  // among its top tracks. The home page is reopened until reco-svc has applied the play.
  const played = rows[pick].id;
  await page.click(`table.tracks tbody tr:nth-child(${((pick + 1) % rows.length) + 1}) .play-track`);
  const recent = await until(
    page,
    "the played album under Recently played",
    () => {
      const titles = [...document.querySelectorAll("#recently-played .recent-album .card-title")].map((t) => t.textContent);
      if (titles.length === 0 && !document.getElementById("view")?.hasAttribute("aria-busy")) {
        document.querySelector("nav [data-section=browse]")?.click();
      }
      return titles;
    },
    (titles) => titles.length > 0,
    20000,
  );
  log("recently played:", JSON.stringify(recent));
  await until(page, "the recently played cover", (selector) => document.querySelector(selector)?.naturalWidth ?? 0, (w) => w > 0, 15000, "#recently-played img.cover");
  await page.screenshot({ path: join(artifacts, "web-player-home.png") });
  await page.click("#all-artists .artist-link >> nth=0", { timeout: 15000 });
  await page.waitForSelector(`#top-tracks tr[data-track-id="${played}"]`, { timeout: 15000 });
  log("top tracks:", await page.$eval("#top-tracks table.tracks", (table) => table.textContent?.replace(/\s+/g, " ").trim()));

  // "Made for you": the counted play moved the listener's taste, so reco-svc's mixer (every
  // 200 ms, after one taste event, in this mesh) made a daily mix; the home page shows it,
  // and it opens as a playlist the listener may play and follow but not change.
  await page.click("nav [data-section=browse]");
  await until(
    page,
    "a mix under Made for you",
    () => {
      const mixes = document.querySelectorAll("#made-for-you .made-for-you-link").length;
      if (mixes === 0 && !document.getElementById("view")?.hasAttribute("aria-busy")) {
        document.querySelector("nav [data-section=browse]")?.click();
      }
      return mixes;
    },
    (mixes) => mixes > 0,
    20000,
  );
  await page.click("#made-for-you .made-for-you-link >> nth=0");
  await page.waitForSelector(".playlist-visibility:has-text('Made for you')", { timeout: 15000 });
  await page.waitForSelector(".toggle-follow", { timeout: 5000 });
  if (await page.$("#rename-playlist")) throw new Error("a mix offers to rename it");
  if (await page.$("table.tracks button[title=Remove]")) throw new Error("a mix offers to remove its tracks");
  log("opened the daily mix:", await page.$eval("table.tracks", (table) => table.textContent?.replace(/\s+/g, " ").trim()));

  // A public playlist made through the page is found by a typo'd name in the search box,
  // shown under "Playlists", and opens.
  const listName = `Quasar ${name} Lullabies`;
  await page.click("nav [data-section=playlists]");
  await page.fill("#new-playlist-name", listName);
  await page.check("#new-playlist-public");
  await page.click("form[aria-label='Create a playlist'] button[type=submit]");
  await page.waitForSelector(`.playlist-link:has-text("${listName}")`, { timeout: 15000 });
  await page.fill("#search", "quasr lullab");
  const card = `.results .playlist-link:has-text("${listName}")`;
  // Searching again (once a second, past the box's debounce) until it is there: the index
  // takes up to a second after the creation.
  await until(
    page,
    "the playlist among the search results",
    (wanted) => {
      const cards = [...document.querySelectorAll(".results .playlist-link")];
      if (cards.some((card) => card.textContent.includes(wanted))) return true;
      if (Date.now() - (window.__searchedAt ?? 0) > 1000) {
        window.__searchedAt = Date.now();
        document.getElementById("search").dispatchEvent(new Event("input"));
      }
      return false;
    },
    (found) => found,
    15000,
    listName,
  );
  await page.click(card);
  await page.waitForSelector(".playlist-visibility:has-text('Public')", { timeout: 15000 });
  // Its owner may rename it and change who sees it, and is not offered to follow it.
  await page.waitForSelector("#rename-playlist", { timeout: 5000 });
  await page.waitForSelector(".toggle-public:has-text('Make private')", { timeout: 5000 });
  if (await page.$(".toggle-follow")) throw new Error("the owner is offered to follow their own playlist");
  log("found and opened the public playlist", listName);

  if (uploadFolder) {
    // Subsonic apps: an app password is shown once, works on /rest as an API key and as
    // u+p, is listed with the app that used it, and is refused once revoked.
    await page.click("nav [data-section=subsonic-apps]");
    await page.fill("#subsonic-name", "Pixel, Symfonium");
    await page.click("#subsonic-apps form button[type=submit]");
    const secret = (await (await page.waitForSelector("#subsonic-secret", { timeout: 15000 })).textContent()).trim();
    const rest = (query) =>
      page.evaluate(async (q) => (await (await fetch(`/rest/ping.view?f=json&c=Symfonium&${q}`)).json())["subsonic-response"], query);
    for (const query of [`apiKey=${secret}`, `u=${name}&p=${secret}`]) {
      const answer = await rest(query);
      if (answer.status !== "ok") throw new Error(`the app password is refused: ${JSON.stringify(answer)}`);
    }
    // The queue follows the listener: an app reads what the web player saved, saves its own,
    // and the page, reloaded, resumes that one paused, then plays it from where the app was.
    const call = (method, query) =>
      page.evaluate(
        async ([m, q]) => (await (await fetch(`/rest/${m}.view?f=json&c=Symfonium&${q}`)).json())["subsonic-response"],
        [method, `apiKey=${secret}&${query}`],
      );
    if (!(await page.evaluate(audioState)).paused) await page.click("#play-pause");
    let webQueue = null;
    let last = null;
    for (let tries = 0; tries < 40 && !webQueue; tries++) {
      last = await call("getPlayQueue", "");
      if (last.playQueue?.changedBy === "web" && (last.playQueue.entry ?? []).length > 0) webQueue = last.playQueue;
      else await page.waitForTimeout(500);
    }
    if (!webQueue) throw new Error(`the web player never saved its queue: ${JSON.stringify(last)}`);
    log("the web player saved", webQueue.entry.length, "tracks, current", webQueue.current);
    // The app queues the web player's current track twice and stands 5 s into the second.
    const track = webQueue.current ?? webQueue.entry[0].id;
    const saved = await call("savePlayQueueByIndex", `id=${track}&id=${track}&currentIndex=1&position=5000`);
    if (saved.status !== "ok") throw new Error(`savePlayQueueByIndex failed: ${JSON.stringify(saved)}`);
    await page.reload();
    await page.waitForSelector("#signed-in:not([hidden])", { timeout: 15000 });
    await page.waitForSelector("#queue-list li:nth-child(2)[aria-current=true]", { timeout: 15000 });
    if ((await page.$$("#queue-list li")).length !== 2) throw new Error("the resumed queue is not the app's");
    if (!(await page.evaluate(audioState)).paused) throw new Error("a resumed queue started playing by itself");
    await page.click("#play-pause");
    const resumed = await until(page, "the resumed track to play", audioState, (s) => s.time > 0.5 || s.error, 30000);
    if (resumed.error) throw new Error(`player error: ${resumed.error}`);
    if (resumed.time < 4.5) throw new Error(`the resumed track started at ${resumed.time} s, not where the app was (5 s)`);
    await page.click("#play-pause");
    log("the queue went from the web player to an app and back");
    await page.click("nav [data-section=subsonic-apps]");
    await page.waitForSelector("#subsonic-passwords li[data-id]:has-text('by Symfonium')", { timeout: 15000 });
    await page.click("#subsonic-passwords .revoke");
    await page.waitForSelector("#subsonic-passwords li.empty", { timeout: 15000 });
    const revoked = await rest(`apiKey=${secret}`);
    if (revoked.error?.code !== 44) throw new Error(`a revoked app password still works: ${JSON.stringify(revoked)}`);
    // Without a legacy app password, token sign-in answers 41 (DSub then sends p=enc:).
    const salt = "c19b2d";
    const token = (key) => createHash("md5").update(key + salt).digest("hex");
    const noLegacy = await rest(`u=${name}&t=${token(secret)}&s=${salt}`);
    if (noLegacy.error?.code !== 41) throw new Error(`token sign-in without a legacy app password: ${JSON.stringify(noLegacy)}`);
    // One marked for legacy clients (the checkbox explains what that costs) takes t+s.
    await page.waitForSelector("#subsonic-legacy-hint:has-text('encrypted')", { timeout: 5000 });
    await page.fill("#subsonic-name", "Feishin");
    await page.check("#subsonic-legacy");
    await page.click("#subsonic-apps form button[type=submit]");
    await page.waitForSelector("#subsonic-passwords li[data-id]:has-text('Feishin'):has-text('legacy clients')", { timeout: 15000 });
    const legacySecret = (await page.textContent("#subsonic-secret")).trim();
    if (legacySecret === secret) throw new Error("the legacy app password's secret was not shown");
    const byToken = await rest(`u=${name}&t=${token(legacySecret).toUpperCase()}&s=${salt}`);
    if (byToken.status !== "ok") throw new Error(`token sign-in with a legacy app password failed: ${JSON.stringify(byToken)}`);
    const wrongToken = await rest(`u=${name}&t=${token(secret)}&s=${salt}`);
    if (wrongToken.error?.code !== 40) throw new Error(`a wrong token is not refused with 40: ${JSON.stringify(wrongToken)}`);
    await page.click("#subsonic-passwords .revoke");
    await page.waitForSelector("#subsonic-passwords li.empty", { timeout: 15000 });
    log("created, used and revoked Subsonic app passwords (one for legacy token clients)");
    // A listener is not offered "Add music"; the admin (the first account) is.
    if (!(await page.$eval("#nav-upload", (li) => li.hidden))) throw new Error("a listener is offered Add music");
    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])", { timeout: 15000 });
    await page.fill("#login-name", adminLogin);
    await page.fill("#login-password", adminPassword);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#signed-in:not([hidden])", { timeout: 15000 });
    // Someone else's public playlist: Follow, then Unfollow; no rename, no visibility switch.
    await page.fill("#search", "quasr lullab");
    await page.waitForSelector(card, { timeout: 15000 });
    await page.click(card);
    await page.waitForSelector(".toggle-follow[aria-pressed=false]", { timeout: 15000 });
    if ((await page.$("#rename-playlist")) || (await page.$(".toggle-public"))) throw new Error("a listener may edit another's playlist");
    await page.click(".toggle-follow");
    await page.waitForSelector(".toggle-follow[aria-pressed=true]:has-text('Unfollow')", { timeout: 15000 });
    log("followed the listener's playlist as the admin");
    // A folder goes in file by file.
    await page.click("nav [data-section=upload]", { timeout: 5000 });
    await page.evaluate(() => {
      window.__uploadStates = new Set();
      new MutationObserver(() => {
        for (const li of document.querySelectorAll("#upload-list li.upload")) window.__uploadStates.add(li.dataset.state);
      }).observe(document.getElementById("upload-list"), { subtree: true, attributes: true, childList: true });
    });
    await page.setInputFiles("#upload-folder", uploadFolder);
    const rows = () => ({
      rows: [...document.querySelectorAll("#upload-list li.upload")].map((li) => ({
        name: li.querySelector(".name")?.textContent,
        state: li.dataset.state,
        text: li.querySelector(".state")?.textContent,
      })),
      seen: [...(window.__uploadStates ?? [])],
    });
    const done = await until(
      page,
      "every dropped file to reach its final state",
      rows,
      (r) => r.rows.length > 0 && r.rows.every((row) => ["ready", "skipped", "failed"].includes(row.state)),
      180000,
    );
    log("uploads:", JSON.stringify(done));
    const audio = done.rows.filter((row) => row.name.endsWith(".ogg"));
    if (audio.length === 0 || audio.some((row) => row.state !== "ready")) throw new Error(`an uploaded track is not ready: ${JSON.stringify(done)}`);
    if (!done.rows.some((row) => row.state === "skipped")) throw new Error(`the non-audio file was not skipped: ${JSON.stringify(done)}`);
    if (!done.seen.includes("transcoding")) throw new Error(`no per-file progress was shown: ${JSON.stringify(done.seen)}`);
    await page.screenshot({ path: join(artifacts, "web-player-upload.png") });
    // The new track plays from its row.
    await page.click("#upload-list li[data-state=ready] .play-upload");
    await until(page, "the uploaded track to play", audioState, (s) => s.time > 1 || s.error, 30000).then((s) => {
      if (s.error) throw new Error(`player error: ${s.error}`);
    });
    // A reload ends the page's uploads, not what the list said about each file.
    await page.reload();
    await page.waitForSelector("#signed-in:not([hidden])", { timeout: 15000 });
    await page.click("nav [data-section=upload]", { timeout: 5000 });
    const kept = await until(page, "the upload list after a reload", rows, (r) => r.rows.length === done.rows.length, 15000);
    const states = (r) => r.rows.map((row) => `${row.name}: ${row.state}`).join(", ");
    if (states(kept) !== states(done)) throw new Error(`the upload list changed on reload: ${states(kept)} vs ${states(done)}`);
    if (!(await page.$("#upload-list li[data-state=ready] .play-upload"))) throw new Error("a reloaded ready row has no Play button");
    log("the upload list survived a reload:", states(kept));
  }
} catch (error) {
  failed = error;
} finally {
  await page.screenshot({ path: join(artifacts, "web-player.png") }).catch((error) => problems.push(`screenshot: ${error}`));
  await context.close();
  await rm(profile, { recursive: true, force: true });
}

for (const problem of problems) console.log("[player.mjs]", problem);
if (failed) {
  console.error("[player.mjs] FAILED:", failed.message);
  process.exit(1);
}
log("ok; screenshot in", join(artifacts, "web-player.png"));
