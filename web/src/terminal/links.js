// Where a terminal recording is replayed: `#/replay/{id}?t=SECONDS`. A knowledge source
// taken from a terminal command links to `/api/v1/terminal/sessions/{id}/recording?t=...`;
// replayHash turns such a link into the replay page's address (the Ask page's citations
// use it too).
const RECORDING = /^\/api\/v1\/terminal\/sessions\/([0-9a-f]{24})\/recording\/?$/;

// `#/replay/{id}`, at `t` seconds when given (to a tenth, as the recording links have it).
export function replayAt(id, t) {
  const at = t === null || t === undefined || t === "" ? Number.NaN : Number(t);
  const query = Number.isFinite(at) && at >= 0 ? `?t=${at.toFixed(1)}` : "";
  return `#/replay/${encodeURIComponent(id)}${query}`;
}

// The replay page's hash for a recording link, or null when it is not one.
export function replayHash(link) {
  if (typeof link !== "string" || !link) return null;
  let url;
  try {
    url = new URL(link, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  const found = RECORDING.exec(url.pathname);
  if (!found) return null;
  return replayAt(found[1], url.searchParams.get("t"));
}

// Seconds from a session's start to a moment (both ISO times), or null.
export function secondsInto(session, iso) {
  const start = Date.parse(session?.created_at);
  const at = Date.parse(iso);
  if (!Number.isFinite(start) || !Number.isFinite(at)) return null;
  return Math.max(0, (at - start) / 1000);
}
