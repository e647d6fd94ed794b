// The queue beside the main view: what plays now and what comes next, each entry playable
// or removable.

import type { Player } from "../player/controller";
import { byId, h, mount } from "./dom";

/** Keeps `#queue-list` showing the queue. */
export function queuePanel(player: Player): void {
  const list = byId("queue-list");
  const render = () => {
    const queue = player.queue;
    if (queue.items.length === 0) {
      mount(list, h("li", { class: "empty" }, "The queue is empty."));
      return;
    }
    mount(
      list,
      ...queue.items.map((entry, position) =>
        h(
          "li",
          { class: position === queue.position ? "current" : "", "aria-current": position === queue.position ? "true" : undefined },
          h("button", { class: "link", onclick: () => void player.jump(position), "aria-label": `Play ${entry.track.title} from the queue` }, entry.track.title),
          h("span", { class: "sub" }, entry.track.artist),
          position !== queue.position &&
            h("button", { class: "icon", "aria-label": `Remove ${entry.track.title} from the queue`, onclick: () => queue.remove(position) }, "✕"),
        ),
      ),
    );
  };
  player.queue.addEventListener("change", render);
  render();
}
