"""SQLite schema, by version; each step upgrades the previous one in place.

No AUTOINCREMENT: header ids are handed out under the write lock (max + 1) and a body
shares its header's id, so the per-commit sqlite_sequence update is not needed.
"""

from __future__ import annotations

SCHEMA_VERSION = 5

# A step is a script of statements split on ";", or a list of statements (a trigger's body
# holds ";" of its own).
MIGRATIONS: dict[int, str | list[str]] = {
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
    # 3: the production monitor's counters, kept by triggers as headers are written, so a
    # refresh reads a few dozen rows however many messages the store holds (see
    # SQLStore.item_counts): per item, messages by status it received (side 'in', keyed by
    # target) and messages it sent (side 'out', keyed by source), with the time of its last
    # activity; and messages (and errors) per minute for the rate chart. ``slot`` is always
    # 0 (one writer at a time updates a row in place; PostgreSQL appends deltas instead).
    # The log index
    # finds an item's newest error, warning and alert without a scan.
    3: [
        """CREATE TABLE IF NOT EXISTS item_counts (
            item TEXT NOT NULL, side TEXT NOT NULL, status TEXT NOT NULL, slot INTEGER NOT NULL,
            n INTEGER NOT NULL, last REAL NOT NULL,
            PRIMARY KEY (item, side, status, slot)) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS message_rate (
            minute INTEGER NOT NULL, slot INTEGER NOT NULL, n INTEGER NOT NULL,
            errors INTEGER NOT NULL, PRIMARY KEY (minute, slot)) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS log_item_type ON log (item, type, id)",
        "DELETE FROM item_counts",
        "INSERT INTO item_counts (item, side, status, slot, n, last) "
        "SELECT target, 'in', status, 0, COUNT(*), MAX(COALESCE(processed, created)) "
        "FROM headers GROUP BY target, status",
        "INSERT INTO item_counts (item, side, status, slot, n, last) "
        "SELECT source, 'out', '', 0, COUNT(*), MAX(created) FROM headers GROUP BY source",
        "DELETE FROM message_rate",
        "INSERT INTO message_rate (minute, slot, n, errors) "
        "SELECT CAST(created / 60 AS INTEGER), 0, COUNT(*), SUM(status = 'error') FROM headers "
        "WHERE created >= CAST(strftime('%s', 'now') AS REAL) - 7200 GROUP BY 1",
        """CREATE TRIGGER IF NOT EXISTS headers_counted AFTER INSERT ON headers BEGIN
            INSERT INTO item_counts (item, side, status, slot, n, last)
                VALUES (NEW.target, 'in', NEW.status, 0, 1, NEW.created),
                       (NEW.source, 'out', '', 0, 1, NEW.created)
                ON CONFLICT (item, side, status, slot)
                DO UPDATE SET n = n + 1, last = MAX(last, excluded.last);
            INSERT INTO message_rate (minute, slot, n, errors)
                VALUES (CAST(NEW.created / 60 AS INTEGER), 0, 1, NEW.status = 'error')
                ON CONFLICT (minute, slot)
                DO UPDATE SET n = n + 1, errors = errors + excluded.errors;
        END""",
        """CREATE TRIGGER IF NOT EXISTS headers_recounted AFTER UPDATE OF status ON headers
        WHEN OLD.status <> NEW.status BEGIN
            INSERT INTO item_counts (item, side, status, slot, n, last)
                VALUES (OLD.target, 'in', OLD.status, 0, -1, 0),
                       (NEW.target, 'in', NEW.status, 0, 1, COALESCE(NEW.processed, NEW.created))
                ON CONFLICT (item, side, status, slot)
                DO UPDATE SET n = n + excluded.n, last = MAX(last, excluded.last);
            INSERT INTO message_rate (minute, slot, n, errors)
                SELECT CAST(COALESCE(NEW.processed, NEW.created) / 60 AS INTEGER), 0, 0, 1
                WHERE NEW.status = 'error'
                ON CONFLICT (minute, slot) DO UPDATE SET errors = errors + 1;
        END""",
        """CREATE TRIGGER IF NOT EXISTS headers_uncounted AFTER DELETE ON headers BEGIN
            UPDATE item_counts SET n = n - 1
                WHERE item = OLD.target AND side = 'in' AND status = OLD.status AND slot = 0;
            UPDATE item_counts SET n = n - 1
                WHERE item = OLD.source AND side = 'out' AND status = '' AND slot = 0;
        END""",
    ],
    # 4: managed alerts (IRIS's Managed Alerts; see iop.engine.managed_alerts). Every event
    # log entry of type alert, whoever writes it, becomes one alert with a state (new,
    # acknowledged, closed) and an owner, in the same transaction (the trigger), and keeps
    # its own copy of the text, so purging the log never loses an open alert. Alerts logged
    # before this version are taken over as new. Each operator action is one alert_notes row.
    4: [
        """CREATE TABLE IF NOT EXISTS managed_alerts (
            id INTEGER PRIMARY KEY, log_id INTEGER, time REAL NOT NULL,
            production TEXT NOT NULL DEFAULT '', item TEXT NOT NULL DEFAULT '',
            session_id INTEGER, text TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'new',
            owner TEXT NOT NULL DEFAULT '', updated REAL NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS managed_alerts_state ON managed_alerts (state, id)",
        """CREATE TABLE IF NOT EXISTS alert_notes (
            id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, time REAL NOT NULL,
            author TEXT NOT NULL, action TEXT NOT NULL, text TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX IF NOT EXISTS alert_notes_alert ON alert_notes (alert_id, id)",
        "INSERT INTO managed_alerts (log_id, time, item, session_id, text, updated) "
        "SELECT id, time, item, session_id, text, time FROM log WHERE type = 'alert' "
        "AND id NOT IN (SELECT log_id FROM managed_alerts WHERE log_id IS NOT NULL) "
        "ORDER BY id",
        """CREATE TRIGGER IF NOT EXISTS log_alert_managed AFTER INSERT ON log
        WHEN NEW.type = 'alert' BEGIN
            INSERT INTO managed_alerts (log_id, time, production, item, session_id, text,
                                        updated)
                VALUES (NEW.id, NEW.time,
                        COALESCE((SELECT production FROM runtime WHERE id = 1), ''),
                        NEW.item, NEW.session_id, NEW.text, NEW.time);
        END""",
    ],
    # 5: what connectors keep (iop.connectors). ``credentials``: IRIS's credentials, the
    # secret encrypted by iop.connectors.credentials with a key kept outside the store.
    # ``adapter_state``: an inbound adapter's memory of what it delivered (IRIS keeps it in
    # ^Ens.AppData), e.g. the keys of rows or names of files processed but not deleted.
    5: """
CREATE TABLE IF NOT EXISTS credentials (
    name TEXT PRIMARY KEY, username TEXT NOT NULL, secret BLOB NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS adapter_state (
    item TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL, PRIMARY KEY (item, scope, key));
""",
}
