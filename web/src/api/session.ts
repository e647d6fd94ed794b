// The signed-in session: REST sign-up, login, refresh and logout against /v1/auth/*.
// The access token lives only in memory (a script injected later cannot read what was never
// stored); the refresh token is kept in localStorage so a reload stays signed in.

const REFRESH_KEY = "tunemesh.refresh_token";

/** What the gateway answers for login and refresh. */
interface SessionJson {
  user_id: string;
  roles?: string[];
  access_token: string;
  expires_in: number;
  refresh_token: string;
}

/** An error the gateway answered, with its HTTP status and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let accessToken: string | null = null;
let userId: string | null = null;
let roles: string[] = [];
// One refresh at a time: concurrent 401s share it, since a refresh token is single use.
let refreshing: Promise<boolean> | null = null;
const listeners: Array<(signedIn: boolean) => void> = [];

/** Calls `listener` whenever the user signs in or out. */
export function onSessionChange(listener: (signedIn: boolean) => void): void {
  listeners.push(listener);
}

/** The current access token, if signed in. */
export function currentAccessToken(): string | null {
  return accessToken;
}

/** Whether the signed-in user is the admin (the first account created): it may add music. */
export function isAdmin(): boolean {
  return roles.includes("admin");
}

/** The signed-in user's id, if any. */
export function currentUserId(): string | null {
  return userId;
}

async function postJson(path: string, body: unknown): Promise<SessionJson | null> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  // 204 (logout) and 202 (sign-up, which starts no session) carry no session.
  if (response.status === 204 || response.status === 202) return null;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: keep the status, drop the body.
  }
  if (!response.ok) {
    const message =
      json && typeof json === "object" && "message" in json ? String(json.message) : response.statusText;
    throw new ApiError(response.status, message || `request failed (${response.status})`);
  }
  return json as SessionJson;
}

function adopt(session: SessionJson): void {
  accessToken = session.access_token;
  userId = session.user_id;
  roles = session.roles ?? [];
  localStorage.setItem(REFRESH_KEY, session.refresh_token);
  listeners.forEach((listener) => listener(true));
}

/**
 * Creates an account and signs in. The gateway answers sign-up alike whether or not the email
 * or user name was taken (it never says which), so the login that follows is what tells: its
 * refusal here means one of them is in use already.
 */
export async function signUp(email: string, username: string, password: string): Promise<void> {
  await postJson("/v1/auth/signup", { email, username, password });
  try {
    await logIn(username, password);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw new ApiError(401, "Could not sign in with these details: the email or user name may be in use already. Log in instead, or choose others.");
    }
    throw error;
  }
}

/** Signs in with an email address or user name. */
export async function logIn(login: string, password: string): Promise<void> {
  const session = await postJson("/v1/auth/login", { login, password });
  if (session) adopt(session);
}

/** Exchanges the stored refresh token for a new session; false when there is none or it was refused. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const token = localStorage.getItem(REFRESH_KEY);
    if (!token) return false;
    try {
      const session = await postJson("/v1/auth/refresh", { refresh_token: token });
      if (!session) return false;
      adopt(session);
      return true;
    } catch (error) {
      // Only a refusal ends the session; a network blip keeps the token for the next try.
      if (error instanceof ApiError && (error.status === 401 || error.status === 400)) forget();
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function forget(): void {
  accessToken = null;
  userId = null;
  roles = [];
  localStorage.removeItem(REFRESH_KEY);
  listeners.forEach((listener) => listener(false));
}

/** Ends the session at the gateway (best effort) and here. */
export async function logOut(): Promise<void> {
  const token = localStorage.getItem(REFRESH_KEY);
  if (token && accessToken) {
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ refresh_token: token }),
    }).catch(() => undefined);
  }
  forget();
}
