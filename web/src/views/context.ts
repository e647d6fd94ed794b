// What every view may use: the player and a way to show another view.

import type { Player } from "../player/controller";
import type { QueueTrack } from "../player/track";

/** A view renders into the main region; it may fetch before returning. */
export type View = () => Promise<Node>;

/** Shared by the views. */
export interface App {
  player: Player;
  /** Shows `view` in the main region under `title` (the nav item `section` is marked current). */
  show(title: string, view: View, section?: string): void;
  /** Opens "Add music" (admin only). */
  addMusic(): void;
  /** Opens the radio of a track. */
  radio(track: QueueTrack): void;
  /** Asks which playlist to add `track` to and adds it. */
  addToPlaylist(track: QueueTrack): void;
}
