// Sign-up and login forms, shown while signed out.

import { logIn, signUp } from "../api/session";
import { h, mount } from "../ui/dom";

function field(id: string, label: string, attributes: Record<string, string | number | boolean>): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, required: true, ...attributes }));
}

function value(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "";
}

/** Renders the two forms into `root`. */
export function authView(root: HTMLElement): void {
  const message = h("p", { class: "error", role: "alert", id: "auth-error" });
  const submit = (action: (form: HTMLFormElement) => Promise<void>) => (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const button = form.querySelector("button") as HTMLButtonElement;
    button.disabled = true;
    message.textContent = "";
    action(form)
      .catch((error: unknown) => {
        message.textContent = error instanceof Error ? error.message : String(error);
      })
      .finally(() => {
        button.disabled = false;
      });
  };
  const signup = h(
    "form",
    { id: "signup-form", "aria-labelledby": "signup-title", onsubmit: submit((form) => signUp(value(form, "signup-email"), value(form, "signup-username"), value(form, "signup-password"))) },
    h("h2", { id: "signup-title" }, "Create an account"),
    field("signup-email", "Email", { type: "email", autocomplete: "email" }),
    field("signup-username", "User name", { autocomplete: "username", minlength: 3, maxlength: 32, pattern: "[A-Za-z0-9_.\\-]+" }),
    field("signup-password", "Password", { type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128 }),
    h("button", { type: "submit", class: "primary" }, "Sign up"),
  );
  const login = h(
    "form",
    { id: "login-form", "aria-labelledby": "login-title", onsubmit: submit((form) => logIn(value(form, "login-name"), value(form, "login-password"))) },
    h("h2", { id: "login-title" }, "Log in"),
    field("login-name", "Email or user name", { autocomplete: "username" }),
    field("login-password", "Password", { type: "password", autocomplete: "current-password" }),
    h("button", { type: "submit", class: "primary" }, "Log in"),
  );
  mount(root, h("div", { class: "auth-forms" }, login, signup), message);
}
