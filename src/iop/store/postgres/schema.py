"""PostgreSQL schema, by version: one schema per namespace, each step upgrades the previous one.

Times are epoch seconds (``DOUBLE PRECISION``) as in the SQLite store, so records read the
same from both backends. Header ids come from ``headers_id_seq`` so an insert can name its
own id as its session id in the same statement; a response's request points back at it
(``corresponding_id``), so no index on that column is needed.
"""

from __future__ import annotations

import hashlib

SCHEMA_VERSION = 6

# PostgreSQL truncates identifiers past 63 bytes; longer names get a digest suffix instead.
_MAX_IDENTIFIER = 63

MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS productions (
            name TEXT PRIMARY KEY, definition TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL,
            last_start DOUBLE PRECISION, last_stop DOUBLE PRECISION,
            auto_start BOOLEAN NOT NULL DEFAULT FALSE, applied TEXT)""",
        # One row per host: several hosts may run the same production (DESIGN.md, "The store").
        """CREATE TABLE IF NOT EXISTS runtime (
            host TEXT PRIMARY KEY, production TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'stopped', supervisor_pid INTEGER NOT NULL DEFAULT 0,
            heartbeat DOUBLE PRECISION NOT NULL DEFAULT 0, requested TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY, item TEXT NOT NULL, slot INTEGER NOT NULL, pid INTEGER NOT NULL,
            host TEXT NOT NULL, state TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
            heartbeat DOUBLE PRECISION NOT NULL, processed BIGINT NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS jobs_host ON jobs (host)",
        """CREATE TABLE IF NOT EXISTS bindings (
            class_name TEXT PRIMARY KEY, module TEXT NOT NULL, classname TEXT NOT NULL,
            classpath TEXT NOT NULL, kind TEXT NOT NULL, generated BOOLEAN NOT NULL DEFAULT TRUE,
            created DOUBLE PRECISION NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS classpaths (seq BIGSERIAL, path TEXT PRIMARY KEY)",
        "CREATE SEQUENCE IF NOT EXISTS headers_id_seq",
        "CREATE TABLE IF NOT EXISTS bodies (id BIGINT PRIMARY KEY, class_name TEXT, data TEXT)",
        """CREATE TABLE IF NOT EXISTS headers (
            id BIGINT PRIMARY KEY, session_id BIGINT, corresponding_id BIGINT,
            source TEXT NOT NULL, target TEXT NOT NULL, body_class TEXT, body_id BIGINT,
            type TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
            created DOUBLE PRECISION NOT NULL, processed DOUBLE PRECISION,
            attempts INTEGER NOT NULL DEFAULT 0, reply_to TEXT,
            response_required BOOLEAN NOT NULL DEFAULT FALSE, context_id BIGINT,
            completion_key TEXT, description TEXT)""",
        "CREATE INDEX IF NOT EXISTS headers_session ON headers (session_id)",
        """CREATE TABLE IF NOT EXISTS queue (
            id BIGSERIAL PRIMARY KEY, item TEXT NOT NULL, header_id BIGINT NOT NULL,
            context_id BIGINT, enqueued DOUBLE PRECISION NOT NULL, lease_owner TEXT,
            lease_until DOUBLE PRECISION, attempts INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS queue_item ON queue (item, id)",
        "CREATE INDEX IF NOT EXISTS queue_owner ON queue (lease_owner) "
        "WHERE lease_owner IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS contexts (
            id BIGINT PRIMARY KEY, item TEXT NOT NULL, request_id BIGINT NOT NULL,
            state TEXT NOT NULL, response_class TEXT, response_text TEXT,
            pending INTEGER NOT NULL DEFAULT 0, replied BOOLEAN NOT NULL DEFAULT FALSE,
            failed TEXT, owner TEXT, owner_until DOUBLE PRECISION,
            updated DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS contexts_owner ON contexts (owner) WHERE owner IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS log (
            id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, type TEXT NOT NULL,
            item TEXT NOT NULL DEFAULT '', job TEXT NOT NULL DEFAULT '', session_id BIGINT,
            message_id BIGINT, source_class TEXT NOT NULL DEFAULT '',
            source_method TEXT NOT NULL DEFAULT '', text TEXT NOT NULL)""",
    ],
    # 2: what keeps the first page of a filtered message viewer (and a session's log lines)
    # fast at 100,000+ messages; see iop.store.queries. Only indexes: nothing is rewritten.
    2: [
        "CREATE INDEX IF NOT EXISTS headers_target ON headers (target, id)",
        "CREATE INDEX IF NOT EXISTS headers_source ON headers (source, id)",
        "CREATE INDEX IF NOT EXISTS headers_created ON headers (created)",
        "CREATE INDEX IF NOT EXISTS headers_trouble ON headers (status, id) "
        "WHERE status IN ('error', 'discarded', 'suspended', 'aborted')",
        "CREATE INDEX IF NOT EXISTS log_session ON log (session_id) "
        "WHERE session_id IS NOT NULL",
    ],
    # 3: a header changes status twice per message (delivered, completed). PostgreSQL can
    # rewrite such a row on its own page without touching any index (a heap-only update)
    # only when no index reads a column that changed, and the operator's index of failed
    # messages read ``status``. It reads ``trouble`` instead: the status when it is one an
    # operator looks for, NULL otherwise, so ordinary changes leave it as it was. Room left
    # on each page (fillfactor) is where the new row versions go. Adding the column rewrites
    # the table once, under its exclusive lock.
    3: [
        "ALTER TABLE headers ADD COLUMN IF NOT EXISTS trouble TEXT GENERATED ALWAYS AS "
        "(CASE WHEN status IN ('error', 'discarded', 'suspended', 'aborted') THEN status END) "
        "STORED",
        "DROP INDEX IF EXISTS headers_trouble",
        "CREATE INDEX headers_trouble ON headers (trouble, id) WHERE trouble IS NOT NULL",
        "ALTER TABLE headers SET (fillfactor = 75)",
    ],
    # 4: the production monitor's counters (as SQLite's version 3; see
    # SQLStore.item_counts). A trigger only appends deltas, one row per header event, to
    # tables without an index: updating a shared counter row instead would make concurrent
    # jobs wait on it, and a transaction that updates one row many times leaves a chain of
    # row versions that each later update walks. The supervisor folds the deltas into the
    # totals once a second (PostgresStore.fold_counters); a read adds both.
    4: [
        """CREATE TABLE IF NOT EXISTS item_counts (
            item TEXT NOT NULL, side TEXT NOT NULL, status TEXT NOT NULL,
            n BIGINT NOT NULL, last DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (item, side, status))""",
        """CREATE TABLE IF NOT EXISTS item_count_deltas (
            item TEXT NOT NULL, side TEXT NOT NULL, status TEXT NOT NULL,
            n INTEGER NOT NULL, last DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS message_rate (
            minute BIGINT PRIMARY KEY, n BIGINT NOT NULL, errors BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS message_rate_deltas (
            minute BIGINT NOT NULL, n INTEGER NOT NULL, errors INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS log_item_type ON log (item, type, id)",
        "DELETE FROM item_counts",
        "DELETE FROM item_count_deltas",
        "INSERT INTO item_counts (item, side, status, n, last) "
        "SELECT target, 'in', status, COUNT(*), MAX(COALESCE(processed, created)) "
        "FROM headers GROUP BY target, status",
        "INSERT INTO item_counts (item, side, status, n, last) "
        "SELECT source, 'out', '', COUNT(*), MAX(created) FROM headers GROUP BY source",
        "DELETE FROM message_rate",
        "DELETE FROM message_rate_deltas",
        "INSERT INTO message_rate (minute, n, errors) "
        "SELECT floor(created / 60), COUNT(*), COUNT(*) FILTER (WHERE status = 'error') "
        "FROM headers WHERE created >= extract(epoch FROM now()) - 7200 GROUP BY 1",
        """CREATE OR REPLACE FUNCTION count_headers() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO item_count_deltas (item, side, status, n, last)
                    VALUES (NEW.target, 'in', NEW.status, 1, NEW.created),
                           (NEW.source, 'out', '', 1, NEW.created);
                INSERT INTO message_rate_deltas (minute, n, errors)
                    VALUES (floor(NEW.created / 60), 1,
                            CASE WHEN NEW.status = 'error' THEN 1 ELSE 0 END);
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO item_count_deltas (item, side, status, n, last)
                    VALUES (OLD.target, 'in', OLD.status, -1, 0),
                           (NEW.target, 'in', NEW.status, 1,
                            COALESCE(NEW.processed, NEW.created));
                IF NEW.status = 'error' THEN
                    INSERT INTO message_rate_deltas (minute, n, errors)
                        VALUES (floor(COALESCE(NEW.processed, NEW.created) / 60), 0, 1);
                END IF;
            ELSE
                INSERT INTO item_count_deltas (item, side, status, n, last)
                    VALUES (OLD.target, 'in', OLD.status, -1, 0),
                           (OLD.source, 'out', '', -1, 0);
            END IF;
            RETURN NULL;
        END $$""",
        "DROP TRIGGER IF EXISTS headers_counted ON headers",
        "CREATE TRIGGER headers_counted AFTER INSERT OR DELETE ON headers "
        "FOR EACH ROW EXECUTE FUNCTION count_headers()",
        "DROP TRIGGER IF EXISTS headers_recounted ON headers",
        "CREATE TRIGGER headers_recounted AFTER UPDATE OF status ON headers FOR EACH ROW "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_headers()",
    ],
    # 5: managed alerts, as SQLite's version 4 (see iop.engine.managed_alerts): the trigger
    # turns every event log entry of type alert into an alert with a state and an owner, in
    # the same transaction; its WHEN clause keeps other log rows from calling it at all.
    # The production is the one the most recently alive host runs.
    5: [
        """CREATE TABLE IF NOT EXISTS managed_alerts (
            id BIGSERIAL PRIMARY KEY, log_id BIGINT, time DOUBLE PRECISION NOT NULL,
            production TEXT NOT NULL DEFAULT '', item TEXT NOT NULL DEFAULT '',
            session_id BIGINT, text TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'new',
            owner TEXT NOT NULL DEFAULT '', updated DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS managed_alerts_state ON managed_alerts (state, id)",
        """CREATE TABLE IF NOT EXISTS alert_notes (
            id BIGSERIAL PRIMARY KEY, alert_id BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
            author TEXT NOT NULL, action TEXT NOT NULL, text TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX IF NOT EXISTS alert_notes_alert ON alert_notes (alert_id, id)",
        "INSERT INTO managed_alerts (log_id, time, item, session_id, text, updated) "
        "SELECT id, time, item, session_id, text, time FROM log WHERE type = 'alert' "
        "AND id NOT IN (SELECT log_id FROM managed_alerts WHERE log_id IS NOT NULL) "
        "ORDER BY id",
        """CREATE OR REPLACE FUNCTION manage_alert() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO managed_alerts (log_id, time, production, item, session_id, text,
                                        updated)
                VALUES (NEW.id, NEW.time,
                        COALESCE((SELECT production FROM runtime WHERE production <> ''
                                  ORDER BY heartbeat DESC LIMIT 1), ''),
                        NEW.item, NEW.session_id, NEW.text, NEW.time);
            RETURN NULL;
        END $$""",
        "DROP TRIGGER IF EXISTS log_alert_managed ON log",
        "CREATE TRIGGER log_alert_managed AFTER INSERT ON log FOR EACH ROW "
        "WHEN (NEW.type = 'alert') EXECUTE FUNCTION manage_alert()",
    ],
    # 6: what connectors keep, as SQLite's version 5 (iop.connectors): credentials (the
    # secret encrypted with a key kept outside the store) and adapters' delivery memory.
    6: [
        """CREATE TABLE IF NOT EXISTS credentials (
            name TEXT PRIMARY KEY, username TEXT NOT NULL, secret BYTEA NOT NULL,
            updated DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS adapter_state (
            item TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
            value TEXT NOT NULL DEFAULT '', updated DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (item, scope, key))""",
    ],
}

# Column types of PersistentMessage typed tables, as iop.messages.persistent names them.
TYPED_SQL_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}


def identifier(name: str) -> str:
    """``name`` as PostgreSQL keeps it: at most 63 bytes, unique via a digest when shortened."""
    if len(name.encode()) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
    head = name.encode()[: _MAX_IDENTIFIER - 13].decode(errors="ignore")
    return f"{head}_{digest}"


def schema_for(namespace: str) -> str:
    """The schema holding a namespace: ``USER`` → ``iop_user`` (always used quoted)."""
    return identifier("iop_" + namespace.lower())
