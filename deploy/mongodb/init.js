// Collections and indexes of AISS, for a MongoDB prepared by hand:
//   mongosh "$MONGODB_URI" --file deploy/mongodb/init.js
// AISS creates the same at start. Safe to run again. A test keeps this file in
// step with aiss/storage/models.py.
const aiss = db.getSiblingDB(process.env.MONGODB_DATABASE || "aiss");

function ensure(name, indexes) {
  if (!aiss.getCollectionNames().includes(name)) {
    aiss.createCollection(name);
  }
  for (const [keys, options] of indexes) {
    aiss.getCollection(name).createIndex(keys, options);
  }
}

ensure("jobs", [
  [{"kind": 1, "state": 1, "run_after": 1}, {"name": "kind_state_run_after"}],
  [{"state": 1, "lease_expires": 1}, {"name": "state_lease"}]
]);

ensure("users", [
  [{"username": 1}, {"name": "username", "unique": true}],
  [{"email": 1}, {"name": "email", "unique": true}]
]);

ensure("refresh_tokens", [
  [{"jti": 1}, {"name": "jti", "unique": true}],
  [{"family": 1}, {"name": "family"}],
  [{"user_id": 1}, {"name": "user_id"}]
]);

ensure("api_keys", [
  [{"lookup": 1}, {"name": "lookup", "unique": true}],
  [{"user_id": 1}, {"name": "user_id"}]
]);

ensure("ssh_keys", [
  [{"fingerprint": 1}, {"name": "fingerprint", "unique": true}],
  [{"user_id": 1}, {"name": "user_id"}]
]);

ensure("auth_events", [
  [{"at": 1}, {"name": "at"}],
  [{"user_id": 1, "at": 1}, {"name": "user_id_at"}]
]);

ensure("documents", [
  [{"owner_id": 1, "created_at": 1}, {"name": "owner_id_created_at"}],
  [{"area_id": 1, "created_at": 1}, {"name": "area_id_created_at"}],
  [{"owner_id": 1, "sha256": 1}, {"name": "owner_id_sha256"}]
]);

ensure("chunks", [
  [{"document_id": 1, "index": 1}, {"name": "document_id_index", "unique": true}]
]);

ensure("areas", [
  [{"name": 1}, {"name": "name", "unique": true}]
]);

ensure("llm_providers", [
  [{"name": 1}, {"name": "name", "unique": true}]
]);

ensure("llm_settings", [
  [{"key": 1}, {"name": "key", "unique": true}]
]);

ensure("llm_usage", [
  [{"provider_id": 1, "hour": 1}, {"name": "provider_id_hour", "unique": true}]
]);

ensure("mcp_contexts", [
  [{"user_id": 1, "area_id": 1}, {"name": "user_id_area_id", "unique": true}]
]);

ensure("rag_queries", [
  [{"user_id": 1, "created_at": 1}, {"name": "user_id_created_at"}],
  [{"created_at": 1}, {"name": "created_at"}],
  [{"conversation_id": 1, "created_at": 1}, {"name": "conversation_id_created_at"}],
  [{"rating": 1, "rated_at": 1}, {"name": "rating_rated_at"}]
]);

ensure("conversations", [
  [{"user_id": 1, "updated_at": 1}, {"name": "user_id_updated_at"}]
]);

ensure("terminal_sessions", [
  [{"owner_id": 1, "created_at": 1}, {"name": "owner_id_created_at"}],
  [{"status": 1}, {"name": "status"}],
  [{"ended_at": 1}, {"name": "ended_at"}]
]);

ensure("terminal_commands", [
  [{"owner_id": 1, "started_at": 1}, {"name": "owner_id_started_at"}],
  [{"session_id": 1}, {"name": "session_id"}],
  [{"ended_at": 1}, {"name": "ended_at"}]
]);

ensure("known_hosts", [
  [{"owner_id": 1, "host": 1, "port": 1, "key_type": 1}, {"name": "owner_id_host_port_key_type", "unique": true}]
]);

ensure("ssh_credentials", [
  [{"owner_id": 1, "host": 1, "port": 1, "username": 1}, {"name": "owner_id_host_port_username", "unique": true}]
]);
