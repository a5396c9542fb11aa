// The SANOS REST API as the console uses it: the session cookie authenticates every request,
// and every POST carries the X-CSRF-Token header the array asks of cookie sessions.
// Parameters of a POST travel as a JSON body, so no password or name ends up in a URL.

const CSRF_COOKIE = "opensan_csrf";

// A refusal or failure as the array said it: its HTTP status, error code and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  // The message with where it came from, as the command line prints it.
  describe() {
    if (!this.status) return this.message;
    const code = this.code === null ? "" : `, code ${this.code}`;
    return `${this.message} (HTTP ${this.status}${code})`;
  }
}

// Any failure as a line for the page: the array's own words where it answered.
export function describe(error) {
  return error instanceof ApiError ? error.describe() : error.message ?? String(error);
}

let onSessionEnded = () => {};

// Called with the ApiError of any 401 but a login's: the session is gone.
export function whenSessionEnds(handler) {
  onSessionEnded = handler;
}

function csrfToken() {
  for (const pair of document.cookie.split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join("="));
  }
  return null;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      return new ApiError(response.status, body.error.code ?? null, body.error.message);
    }
  } catch {
    // not the array's error body: say what HTTP said
  }
  return new ApiError(response.status, null, `${response.status} ${response.statusText}`.trim());
}

// One request; answers the Response of a success, throws an ApiError otherwise.
export async function send(method, path, params) {
  const headers = { Accept: "application/json" };
  let body;
  if (method === "POST") {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
    if (params) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(params);
    }
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  } catch (error) {
    throw new ApiError(0, null, `The array did not answer (${error.message}).`);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401 && path !== "rest/login") onSessionEnded(error);
  throw error;
}

export async function get(path) {
  return (await send("GET", path)).json();
}

export async function post(path, params) {
  return (await send("POST", path, params)).json();
}

export const login = (account, password) => post("rest/login", { account, password });
export const logout = () => post("rest/logout");
