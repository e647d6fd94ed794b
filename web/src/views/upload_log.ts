// The upload list kept across reloads: each file's last state, per admin, in localStorage.
//
// A reload (or a closed tab) ends the browser's uploads; what was said about each file must
// not go with them. Rows are saved when their state changes (not on every progress tick) and
// read back once per page load; a file that was still on its way when the page went is shown
// as interrupted, because dropping it again resumes there (files already in are skipped by
// their hash). Bounded: the newest MAX_ROWS rows are kept.

import { currentUserId } from "../api/session";

/** One file's row as saved. */
export interface SavedRow {
  path: string;
  state: string;
  text: string;
  trackId?: string;
}

/** Rows kept per admin; older ones are dropped first. */
const MAX_ROWS = 2000;
/** States a row cannot leave without the page that was uploading it. */
const FINAL = new Set(["ready", "skipped", "failed", "interrupted"]);

function key(): string {
  return `tunemesh.uploads.${currentUserId() ?? "anonymous"}`;
}

/** The rows saved for the signed-in admin; unfinished ones come back as interrupted. */
export function restore(): SavedRow[] {
  let rows: SavedRow[] = [];
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(key()) ?? "[]");
    if (Array.isArray(parsed)) rows = parsed.filter(isRow);
  } catch {
    // Unreadable (another version, a full quota, private mode): start afresh.
  }
  return rows.map((row) =>
    FINAL.has(row.state)
      ? row
      : { path: row.path, state: "interrupted", text: "Interrupted when the page closed: drop it again to resume" },
  );
}

/** Saves `rows` (the list as shown, oldest first). */
export function save(rows: SavedRow[]): void {
  try {
    localStorage.setItem(key(), JSON.stringify(rows.slice(-MAX_ROWS)));
  } catch {
    // Quota or private mode: the list still works, it just will not survive a reload.
  }
}

/** Forgets the saved rows. */
export function forget(): void {
  localStorage.removeItem(key());
}

function isRow(value: unknown): value is SavedRow {
  const row = value as SavedRow | null;
  return (
    typeof row === "object" && row !== null &&
    typeof row.path === "string" && typeof row.state === "string" && typeof row.text === "string"
  );
}
