// Adding music without a terminal (admin only): drop files or whole folders, or pick them,
// and watch each one go through hashing, uploading (with progress), transcoding, and ready or
// failed with the reason. Each file is one `PUT /v1/library/uploads/{sha256}`, streamed by the
// browser from disk; the path is the file's hash, so dropping the same folder again after an
// interruption skips what is in already (resumable per file).
//
// The uploads live at module level: leaving the view does not stop them, and coming back
// shows where they are. Each row's last state is also saved (`upload_log`), so a reload
// shows what finished, what failed and why, and what was interrupted.

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { catalog, describeError } from "../api/clients";
import { currentAccessToken, currentUserId, refresh } from "../api/session";
import { PlayContextType } from "../gen/tunemesh/player/v1/playback_pb";
import { fromTrack } from "../player/track";
import { h } from "../ui/dom";
import type { App } from "./context";
import { forget, restore, save } from "./upload_log";

/** Files uploading at once: the server transcodes on its own pool; two keep it busy. */
const IN_FLIGHT = 2;
/** What the server decodes, by extension; anything else is listed as skipped, not sent. */
const AUDIO = /\.(mp3|flac|ogg|oga|opus|m4a|mp4|aac|wav|wave|aif|aiff|wv|mka|webm|caf)$/i;

type State =
  | "queued"
  | "hashing"
  | "uploading"
  | "transcoding"
  | "ready"
  | "skipped"
  | "failed"
  | "interrupted";

interface Job {
  file: File;
  row: HTMLLIElement;
  state: HTMLSpanElement;
  bar: HTMLProgressElement;
  trackId?: string;
}

/** What the gateway answers for an upload. */
interface UploadResult {
  outcome: "ingested" | "skipped" | "failed";
  track_id?: string | null;
  reason?: string | null;
  detail: string;
}

const list = h("ol", { class: "plain uploads", id: "upload-list", "aria-live": "polite" });
const summary = h("p", { id: "upload-summary", class: "muted" });
const waiting: Job[] = [];
let running = 0;
let appRef: App | null = null;
/** The admin whose saved rows were put back in the list (once per page load and admin). */
let restoredFor: string | null = null;

/** The "Add music" view. */
export function uploadView(app: App) {
  appRef = app;
  return async (): Promise<Node> => {
    // Not before the session is back: a reload on this view renders it while signing in again.
    const user = currentUserId();
    if (user && restoredFor !== user) {
      restoredFor = user;
      for (const saved of restore()) {
        const { row, state, bar } = rowFor(saved.path);
        list.append(row);
        const job = { row, state, bar, trackId: saved.trackId };
        show(job, saved.state as State, saved.text);
        if (saved.trackId) playButton(job, saved.trackId);
      }
      counts();
    }
    const clear = h("button", { type: "button", id: "upload-clear", onclick: clearFinished }, "Clear finished");
    const pick = h("input", { type: "file", multiple: true, id: "upload-files", class: "visually-hidden" });
    const pickFolder = h("input", { type: "file", multiple: true, id: "upload-folder", class: "visually-hidden" });
    pickFolder.setAttribute("webkitdirectory", "");
    for (const input of [pick, pickFolder]) {
      input.addEventListener("change", () => {
        add(Array.from(input.files ?? []));
        input.value = "";
      });
    }
    const zone = h(
      "div",
      { class: "drop-zone", id: "drop-zone", tabindex: 0 },
      h("p", {}, "Drop audio files or folders here"),
      h(
        "p",
        {},
        h("button", { type: "button", onclick: () => pick.click() }, "Choose files"),
        " ",
        h("button", { type: "button", onclick: () => pickFolder.click() }, "Choose a folder"),
      ),
      pick,
      pickFolder,
    );
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      void dropped(event.dataTransfer).then(add);
    });
    return h(
      "div",
      {},
      h(
        "p",
        { class: "muted" },
        "Files are added to the shared library as they finish. Dropping a folder again skips what is in already. ",
        "On the server, `tunemesh up --library DIR` adds a whole folder too.",
      ),
      zone,
      summary,
      clear,
      list,
    );
  };
}

/** Everything dropped, folders walked (recursively) into their files. */
async function dropped(data: DataTransfer | null): Promise<File[]> {
  if (!data) return [];
  const entries = Array.from(data.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((entry): entry is FileSystemEntry => !!entry);
  if (entries.length === 0) return Array.from(data.files);
  const files: File[] = [];
  for (const entry of entries) await walk(entry, files);
  return files;
}

async function walk(entry: FileSystemEntry, into: File[]): Promise<void> {
  if (entry.isFile) {
    into.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in batches until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await walk(child, into);
  }
}

function add(files: File[]): void {
  const sorted = [...files].sort((a, b) => path(a).localeCompare(path(b)));
  for (const file of sorted) {
    const { row, state, bar } = rowFor(path(file));
    list.append(row);
    const job: Job = { file, row, state, bar };
    if (AUDIO.test(file.name)) {
      set(job, "queued", "Queued");
      waiting.push(job);
    } else {
      set(job, "skipped", "Skipped: not an audio file");
    }
  }
  pump();
}

/** A new row of the list for the file at `name`. */
function rowFor(name: string) {
  const state = h("span", { class: "state" });
  const bar = h("progress", { max: 1, value: 0, hidden: true });
  const row = h("li", { class: "upload" }, h("span", { class: "name" }, name), state, bar);
  return { row, state, bar };
}

function path(file: File): string {
  return file.webkitRelativePath || file.name;
}

/** What a row shows: its state, its text and (while uploading) its progress bar. */
type Shown = Pick<Job, "row" | "state" | "bar">;

function show(job: Shown, state: State, text: string): boolean {
  const changed = job.row.dataset.state !== state;
  job.row.dataset.state = state;
  job.state.textContent = text;
  job.bar.hidden = state !== "uploading";
  return changed;
}

function set(job: Job, state: State, text: string): void {
  // Progress ticks change only the text: the list is saved when a state changes.
  if (show(job, state, text)) {
    counts();
    save(
      [...list.querySelectorAll<HTMLElement>("li.upload")].map((row) => ({
        path: row.querySelector(".name")?.textContent ?? "",
        state: row.dataset.state ?? "queued",
        text: row.querySelector(".state")?.textContent ?? "",
        trackId: row.dataset.trackId,
      })),
    );
  }
}

/** The summary line: how many rows are in each state that matters. */
function counts(): void {
  const counts = new Map<string, number>();
  for (const row of list.querySelectorAll<HTMLElement>("li.upload")) {
    const key = row.dataset.state ?? "queued";
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  summary.textContent = ["ready", "skipped", "failed", "interrupted", "queued"]
    .filter((key) => counts.get(key))
    .map((key) => `${counts.get(key)} ${key}`)
    .join(" · ");
}

/** Removes the rows that are done with (ready, skipped, failed, interrupted) and forgets them. */
function clearFinished(): void {
  for (const row of list.querySelectorAll<HTMLElement>("li.upload")) {
    if (["ready", "skipped", "failed", "interrupted"].includes(row.dataset.state ?? "")) row.remove();
  }
  if (list.childElementCount === 0) forget();
  counts();
}

function pump(): void {
  while (running < IN_FLIGHT && waiting.length > 0) {
    const job = waiting.shift()!;
    running++;
    void run(job).finally(() => {
      running--;
      pump();
    });
  }
}

async function run(job: Job): Promise<void> {
  try {
    set(job, "hashing", "Checking…");
    const digest = await hash(job.file);
    let result = await put(job, digest);
    if (result === "unauthenticated" && (await refresh())) result = await put(job, digest);
    if (result === "unauthenticated") throw new Error("signed out: log in again and drop the files again");
    finish(job, result);
  } catch (error) {
    set(job, "failed", `Failed: ${describeError(error)}`);
  }
}

/** SHA-256 of the file, read in pieces: never the whole file in memory. */
async function hash(file: File): Promise<string> {
  const digest = sha256.create();
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytesToHex(digest.digest());
    digest.update(value);
  }
}

/** Sends the file; XMLHttpRequest because fetch reports no upload progress. */
function put(job: Job, digest: string): Promise<UploadResult | "unauthenticated"> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const name = encodeURIComponent(job.file.name);
    request.open("PUT", `/v1/library/uploads/${digest}?file_name=${name}`);
    request.setRequestHeader("authorization", `Bearer ${currentAccessToken() ?? ""}`);
    request.setRequestHeader("content-type", "application/octet-stream");
    request.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      job.bar.value = event.loaded / event.total;
      set(job, "uploading", `Uploading ${Math.floor((100 * event.loaded) / event.total)}%`);
    };
    request.upload.onload = () => set(job, "transcoding", "Transcoding…");
    request.onerror = () => reject(new Error("the connection to the server failed"));
    request.onload = () => {
      if (request.status === 401) return resolve("unauthenticated");
      let body: unknown = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // A proxy's HTML page: the status says enough.
      }
      if (request.status !== 200) {
        const message = (body as { error?: { message?: string } } | null)?.error?.message;
        return reject(new Error(message ?? `the server answered ${request.status}`));
      }
      resolve(body as UploadResult);
    };
    request.send(job.file);
  });
}

function finish(job: Job, result: UploadResult): void {
  job.trackId = result.track_id ?? undefined;
  if (job.trackId) job.row.dataset.trackId = job.trackId;
  if (result.outcome === "failed") {
    set(job, "failed", `Failed: ${reasonText(result.reason)}${result.detail ? ` (${result.detail})` : ""}`);
    return;
  }
  if (result.outcome === "skipped") {
    set(job, "skipped", result.reason === "duplicate_content" ? "Already in the library" : `Skipped: ${reasonText(result.reason)}`);
  } else {
    set(job, "ready", "Ready");
  }
  if (job.trackId) playButton(job, job.trackId);
}

/** A "Play" button on the row of a file that became `trackId`. */
function playButton(job: Shown, trackId: string): void {
  job.row.dataset.trackId = trackId;
  const app = appRef;
  if (!app) return;
  job.row.append(
    h("button", { type: "button", class: "play-upload", onclick: () => void play(app, trackId) }, "Play"),
  );
}

async function play(app: App, trackId: string): Promise<void> {
  const { track } = await catalog.getTrack({ trackId });
  if (track) await app.player.playList([fromTrack(track)], 0, { type: PlayContextType.UNSPECIFIED, id: "" });
}

function reasonText(reason: string | null | undefined): string {
  const texts: Record<string, string> = {
    duplicate_content: "already in the library",
    not_audio: "not an audio file",
    unsupported_format: "an audio format the server cannot decode",
    corrupt: "the file is damaged",
    checksum_mismatch: "the file changed or was cut short while uploading",
    empty: "no audio in it (or under a second)",
    too_large: "too large for this server",
    internal: "the server failed; try again",
  };
  return texts[reason ?? ""] ?? reason ?? "unknown reason";
}
