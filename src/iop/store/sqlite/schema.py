"""SQLite schema, by version; each step upgrades the previous one in place.

No AUTOINCREMENT: header ids are handed out under the write lock (max + 1) and a body
shares its header's id, so the per-commit sqlite_sequence update is not needed.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS productions (
    name TEXT PRIMARY KEY, definition TEXT NOT NULL, updated REAL NOT NULL,
    last_start REAL, last_stop REAL, auto_start INTEGER NOT NULL DEFAULT 0,
    applied TEXT);
CREATE TABLE IF NOT EXISTS runtime (
    id INTEGER PRIMARY KEY CHECK (id = 1), production TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'stopped', supervisor_pid INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL DEFAULT '', heartbeat REAL NOT NULL DEFAULT 0,
    requested TEXT NOT NULL DEFAULT '');
INSERT OR IGNORE INTO runtime (id) VALUES (1);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, item TEXT NOT NULL, slot INTEGER NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, state TEXT NOT NULL, started REAL NOT NULL, heartbeat REAL NOT NULL,
    processed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS bindings (
    class_name TEXT PRIMARY KEY, module TEXT NOT NULL, classname TEXT NOT NULL,
    classpath TEXT NOT NULL, kind TEXT NOT NULL, generated INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS classpaths (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS bodies (
    id INTEGER PRIMARY KEY, class_name TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS headers (
    id INTEGER PRIMARY KEY, session_id INTEGER, corresponding_id INTEGER,
    source TEXT NOT NULL, target TEXT NOT NULL, body_class TEXT, body_id INTEGER,
    type TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    created REAL NOT NULL, processed REAL, attempts INTEGER NOT NULL DEFAULT 0,
    reply_to TEXT, response_required INTEGER NOT NULL DEFAULT 0, context_id INTEGER,
    completion_key TEXT, description TEXT);
CREATE INDEX IF NOT EXISTS headers_session ON headers (session_id);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY, item TEXT NOT NULL, header_id INTEGER NOT NULL,
    context_id INTEGER, enqueued REAL NOT NULL, lease_owner TEXT, lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue_item ON queue (item, id);
CREATE TABLE IF NOT EXISTS contexts (
    id INTEGER PRIMARY KEY, item TEXT NOT NULL, request_id INTEGER NOT NULL,
    state TEXT NOT NULL, response_class TEXT, response_text TEXT,
    pending INTEGER NOT NULL DEFAULT 0, replied INTEGER NOT NULL DEFAULT 0, failed TEXT,
    owner TEXT, owner_until REAL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, type TEXT NOT NULL,
    item TEXT NOT NULL DEFAULT '', job TEXT NOT NULL DEFAULT '', session_id INTEGER,
    message_id INTEGER, source_class TEXT NOT NULL DEFAULT '',
    source_method TEXT NOT NULL DEFAULT '', text TEXT NOT NULL);
""",
    # 2: what keeps the first page of a filtered message viewer (and a session's log lines)
    # fast at 100,000+ messages; see iop.store.queries. Only indexes: nothing is rewritten.
    2: """
CREATE INDEX IF NOT EXISTS headers_target ON headers (target, id);
CREATE INDEX IF NOT EXISTS headers_source ON headers (source, id);
CREATE INDEX IF NOT EXISTS headers_created ON headers (created);
CREATE INDEX IF NOT EXISTS headers_trouble ON headers (status, id)
    WHERE status IN ('error', 'discarded', 'suspended', 'aborted');
CREATE INDEX IF NOT EXISTS log_session ON log (session_id) WHERE session_id IS NOT NULL;
""",
}
