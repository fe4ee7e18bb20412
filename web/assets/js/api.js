// @ts-check
/**
 * The one client of the REST API: JSON in and out, the bearer token, refresh on expiry, and
 * errors as ApiError carrying the google.rpc.Status and its BadRequest field violations.
 */

const SESSION_KEY = "shopmesh.session";
// Refresh this long before the access token expires, so a request never races the expiry.
const REFRESH_MARGIN_MS = 30_000;

/**
 * @typedef {{accessToken: string, refreshToken: string, expiresAt: number, userId: string,
 *   email: string, roles: string[]}} Session
 * @typedef {{field: string, description: string}} FieldViolation
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: the network failed)
   * @param {any} body the google.rpc.Status JSON, when there is one
   * @param {string | null} retryAfter
   */
  constructor(status, body, retryAfter = null) {
    super(describe(status, body, retryAfter));
    this.status = status;
    /** @type {FieldViolation[]} */
    this.violations = [];
    /** @type {string} */
    this.reason = "";
    for (const detail of body?.details ?? []) {
      if (String(detail["@type"]).endsWith("google.rpc.BadRequest")) {
        this.violations.push(...(detail.fieldViolations ?? []));
      }
      if (String(detail["@type"]).endsWith("google.rpc.ErrorInfo")) this.reason = detail.reason ?? "";
    }
  }
}

/**
 * @param {number} status @param {any} body @param {string | null} retryAfter
 */
function describe(status, body, retryAfter) {
  if (status === 429) {
    return `Slow down: too many requests. Try again in ${retryAfter || "a few"} seconds.`;
  }
  if (status === 0) return "The shop cannot be reached. Check your connection and try again.";
  if (status === 503 || status === 504) return "This part of the shop is unavailable right now. Please try again shortly.";
  return body?.message || `Request failed (HTTP ${status}).`;
}

/** @returns {Session | null} */
export function currentSession() {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** @param {Session | null} session */
function storeSession(session) {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new CustomEvent("session-changed"));
}

/** @param {string} token @returns {any} the JWT's claims (not verified: only for display) */
export function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

/** @param {{accessToken: string, refreshToken: string, expiresIn?: number}} tokens */
function sessionFrom(tokens) {
  const claim = claims(tokens.accessToken);
  const lifetime = Number(tokens.expiresIn || 0) * 1000 || (claim.exp ? claim.exp * 1000 - Date.now() : 60_000);
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + lifetime,
    userId: String(claim.sub ?? ""),
    email: String(claim.email ?? ""),
    roles: Array.isArray(claim.roles) ? claim.roles.map(String) : [],
  };
}

/** @type {Promise<Session | null> | null} */
let refreshing = null;

/** One refresh at a time; null when the session cannot be renewed (the caller logs in again). */
export function refreshSession() {
  const session = currentSession();
  if (!session) return Promise.resolve(null);
  refreshing ??= send("POST", "/v1/auth/refresh", { body: { refreshToken: session.refreshToken } })
    .then((tokens) => {
      const renewed = { ...sessionFrom(tokens), email: session.email || claims(tokens.accessToken).email || "" };
      storeSession(renewed);
      return renewed;
    })
    .catch((error) => {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        storeSession(null);
        window.dispatchEvent(new CustomEvent("session-expired"));
        return null;
      }
      throw error;
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{body?: unknown, query?: Record<string, unknown>, headers?: Record<string, string>, token?: string}} [options]
 */
async function send(method, path, options = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") url.searchParams.append(name, String(item));
    }
  }
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, body, response.headers.get("retry-after"));
  return body;
}

/**
 * A call as the signed-in user (when there is one). An expired access token is refreshed once;
 * when that fails the session ends and "session-expired" is dispatched.
 * @param {string} method
 * @param {string} path
 * @param {{body?: unknown, query?: Record<string, unknown>, headers?: Record<string, string>, auth?: boolean}} [options]
 */
export async function api(method, path, options = {}) {
  let session = currentSession();
  if (session && session.expiresAt - REFRESH_MARGIN_MS < Date.now()) session = await refreshSession();
  if (options.auth && !session) {
    window.dispatchEvent(new CustomEvent("session-expired"));
    throw new ApiError(401, { message: "Please log in." });
  }
  try {
    return await send(method, path, { ...options, token: session?.accessToken });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !session) throw error;
    const renewed = await refreshSession();
    if (!renewed) throw new ApiError(401, { message: "Your session has expired. Please log in again." });
    return send(method, path, { ...options, token: renewed.accessToken });
  }
}

/** @param {string} email @param {string} password */
export async function logIn(email, password) {
  const tokens = await send("POST", "/v1/auth/login", { body: { email, password } });
  const session = { ...sessionFrom(tokens), email: tokens.user?.email || email };
  storeSession(session);
  return session;
}

export async function logOut() {
  const session = currentSession();
  storeSession(null);
  if (!session) return;
  try {
    await send("POST", "/v1/auth/logout", { body: { refreshToken: session.refreshToken }, token: session.accessToken });
  } catch {
    // The local session is gone either way; the refresh token expires on its own.
  }
}

/** @returns {string} a key that makes a retried checkout the same checkout */
export function idempotencyKey() {
  return crypto.randomUUID();
}
