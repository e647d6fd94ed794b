// Settings, Subsonic apps: the listener's app passwords for Subsonic apps (DSub, Symfonium,
// Feishin…) over `/v1/me/subsonic-passwords`. A new one's secret is shown once, here; the
// list says when and by which app each was last used, whether legacy clients (token
// authentication) may use it, and revokes.

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
  legacy_token_auth?: boolean;
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
    const legacy = h("input", { id: "subsonic-legacy", name: "legacy", type: "checkbox" });
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
            password.legacy_token_auth ? h("span", { class: "legacy" }, " (legacy clients)") : "",
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
          void call<{ password: string; name: string }>("POST", "/v1/me/subsonic-passwords", {
            name: name.value,
            legacy_token_auth: legacy.checked,
          })
            .then((answer) => {
              if (!answer) return;
              name.value = "";
              legacy.checked = false;
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
      h(
        "label",
        { for: "subsonic-legacy", class: "legacy-option" },
        legacy,
        " For legacy clients",
      ),
      h("button", { type: "submit" }, "Create"),
      h(
        "p",
        { class: "hint", id: "subsonic-legacy-hint" },
        "Tick this only for an app that signs in with token authentication and cannot be switched to " +
          "password or API-key sign-in (some versions of DSub, Feishin, Symfonium). The server then also " +
          "keeps this password encrypted, which token checks need; others are kept only as a one-way hash.",
      ),
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
