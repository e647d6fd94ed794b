// Settings, Subsonic apps: the listener's app passwords for Subsonic apps (DSub, Symfonium,
// Feishin…) over `/v1/me/subsonic-passwords`. A new one's secret is shown once, here; the
// list says when and by which app each was last used, and revokes.

import { ApiError, currentAccessToken } from "../api/session";
import { h, mount } from "../ui/dom";
import type { View } from "./context";

interface AppPassword {
  id: string;
  name: string;
  hint: string;
  created_at: string;
  last_used_at?: string | null;
  last_client?: string | null;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${currentAccessToken() ?? ""}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (json as { error?: { message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.message ?? `request failed (${response.status})`);
  }
  return json as T;
}

function when(time: string | null | undefined): string {
  return time ? new Date(time).toLocaleString() : "never";
}

/** The app-password page. */
export function subsonicAppsView(): View {
  return async () => {
    const root = h("section", { id: "subsonic-apps" });
    const created = h("div", { id: "subsonic-created", role: "status" });
    const list = h("ul", { id: "subsonic-passwords", class: "subsonic-passwords" });
    const name = h("input", { id: "subsonic-name", name: "name", required: true, maxlength: 64, placeholder: "Pixel, Symfonium" });
    const render = async () => {
      const answer = await call<{ passwords: AppPassword[] }>("GET", "/v1/me/subsonic-passwords");
      const passwords = answer?.passwords ?? [];
      if (passwords.length === 0) {
        mount(list, h("li", { class: "empty" }, "No app passwords yet."));
        return;
      }
      mount(
        list,
        ...passwords.map((password) =>
          h(
            "li",
            { "data-id": password.id },
            h("strong", {}, password.name),
            ` ····${password.hint} · created ${when(password.created_at)} · last used ${when(password.last_used_at)}`,
            password.last_client ? ` by ${password.last_client}` : "",
            " ",
            h(
              "button",
              {
                type: "button",
                class: "revoke",
                onclick: () => {
                  void call("DELETE", `/v1/me/subsonic-passwords/${encodeURIComponent(password.id)}`).then(render);
                },
              },
              "Revoke",
            ),
          ),
        ),
      );
    };
    const form = h(
      "form",
      {
        onsubmit: (event: Event) => {
          event.preventDefault();
          void call<{ password: string; name: string }>("POST", "/v1/me/subsonic-passwords", { name: name.value })
            .then((answer) => {
              if (!answer) return;
              name.value = "";
              mount(
                created,
                h("p", {}, `Enter this as the password of "${answer.name}" (or as its API key). It is shown only now:`),
                h("code", { id: "subsonic-secret" }, answer.password),
                h("p", {}, `Server: ${location.origin} · user name: your tunemesh user name.`),
              );
              return render();
            })
            .catch((error: unknown) => mount(created, h("p", { class: "error", role: "alert" }, String((error as Error).message))));
        },
      },
      h("label", { for: "subsonic-name" }, "New app password for "),
      name,
      h("button", { type: "submit" }, "Create"),
    );
    mount(
      root,
      h("p", {}, "Subsonic apps sign in with an app password, never your tunemesh password. Create one per app; revoke it when you stop using the app."),
      form,
      created,
      list,
    );
    await render();
    return root;
  };
}
