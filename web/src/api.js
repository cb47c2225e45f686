// The API client. The access token lives in this module's memory only; the
// refresh token is an httpOnly cookie the server sets and this code never sees.
let access = null;
let csrf = null;
let expires = 0;
let me = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

async function session(path) {
  const response = await fetch(`/api/v1/auth/browser/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf || cookie("aiss_csrf") || "" },
  });
  if (!response.ok) return false;
  const body = await response.json();
  access = body.access_token;
  csrf = body.csrf_token;
  expires = Date.now() + body.expires_in * 1000;
  return true;
}

export async function login(username, password) {
  const response = await fetch("/api/v1/auth/browser/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  access = body.access_token;
  csrf = body.csrf_token;
  expires = Date.now() + body.expires_in * 1000;
  me = null;
}

export async function resume() {
  // No CSRF cookie, no browser session to resume: not even a request.
  if (!cookie("aiss_csrf")) return false;
  return refreshed();
}

export async function logout() {
  await fetch("/api/v1/auth/browser/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf || cookie("aiss_csrf") || "" },
  }).catch(() => null);
  access = null;
  me = null;
}

// One refresh at a time: the server rotates the refresh token and takes a second use of
// the old one for a theft (it revokes the whole login), so requests made together while
// the access token runs out wait for the same refresh.
let refreshing = null;

function refreshed() {
  refreshing ??= session("refresh").finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function token() {
  if (access && Date.now() < expires - 30_000) return access;
  if (cookie("aiss_csrf") && (await refreshed())) return access;
  access = null;
  throw new ApiError(401, { message: "please log in" });
}

export async function call(method, path, { json, form, accept, signal } = {}) {
  const headers = { Authorization: `Bearer ${await token()}` };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  if (accept) headers.Accept = accept;
  const response = await fetch(`/api/v1${path}`, { method, headers, body, signal });
  if (accept === "text/event-stream" && response.ok) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof data === "object" ? data : null);
  return data;
}

export async function blob(path) {
  const response = await fetch(`/api/v1${path}`, {
    headers: { Authorization: `Bearer ${await token()}` },
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return response.blob();
}

// A multipart upload with its progress in bytes (fetch cannot report an upload's progress).
export async function upload(path, form, onProgress, signal) {
  const bearer = await token();
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/v1${path}`);
    request.setRequestHeader("Authorization", `Bearer ${bearer}`);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => onProgress?.(event.loaded, event.total));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(request.response);
      else reject(new ApiError(request.status, request.response));
    });
    request.addEventListener("error", () => reject(new ApiError(0, { message: "the upload failed: no connection" })));
    request.addEventListener("abort", () => reject(new ApiError(0, { message: "the upload was cancelled" })));
    signal?.addEventListener("abort", () => request.abort());
    request.send(form);
  });
}

export function forget() {
  me = null;
}

export async function whoami() {
  if (!me) me = await call("GET", "/users/me");
  return me;
}

// Server-sent events over fetch (EventSource cannot send the Authorization header).
export async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) yield [kind, JSON.parse(data.join("\n"))];
    }
  }
}
