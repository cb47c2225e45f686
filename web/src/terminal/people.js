// Usernames for user ids (a session's owner, who it is shared with), looked up once each.
import * as api from "../api.js";

const names = new Map();

export function remember(id, username) {
  names.set(id, Promise.resolve(username));
}

// The user's name, or null when they are gone (deleted or deactivated).
export function nameOf(id) {
  if (!names.has(id)) {
    names.set(
      id,
      api.call("GET", `/users/lookup?id=${encodeURIComponent(id)}`).then((u) => u.username, () => null),
    );
  }
  return names.get(id);
}

// An active user by name: {id, username}; the server's 404 when there is none.
export async function findUser(username) {
  const found = await api.call("GET", `/users/lookup?username=${encodeURIComponent(username)}`);
  remember(found.id, found.username);
  return found;
}
