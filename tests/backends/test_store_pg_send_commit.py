"""A lone send on PostgreSQL is acknowledged only once it is committed (issue 25).

The lone send's INSERT and its wake-up go in one pipeline, one implicit transaction that
commits at the pipeline's Sync: the INSERT's own "INSERT 0 1" proves nothing. A commit that
fails after the INSERT ran (here a deferred constraint trigger refusing it at commit time,
as a server terminating the session between the two does in a restart) must fail the send;
the soak with database restarts (``python -m bench.soak --store postgresql --faults``)
found acknowledged messages that were never stored.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from backends_support import PG_URL, Backend

from iop.store import records as r
from iop.store.base import Store
from iop.store.errors import StoreError

ONLY_PG = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@ONLY_PG
def test_a_lone_send_whose_commit_fails_is_not_acknowledged(backend: Backend,
                                                             store: Store) -> None:
    schema = f"iop_{backend.namespace.lower()}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"SET search_path TO {schema}")
        admin.execute("CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$")
        admin.execute("CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON headers "
                      "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                      "EXECUTE FUNCTION refuse_at_commit()")
    draft = r.MessageDraft(source="Svc", target="Op", body_class="demo.Msg",
                           body_text=json.dumps({"n": 1}))
    with pytest.raises(StoreError):
        store.send([draft])
    assert store.count_by_status() == {}  # nothing was stored, and nothing acknowledged

    # The same store (and thread) sends again once the server accepts the commit.
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"DROP TRIGGER refuse ON {schema}.headers")
    draft = r.MessageDraft(source="Svc", target="Op", body_class="demo.Msg",
                           body_text=json.dumps({"n": 2}))
    [header_id] = store.send([draft])
    assert store.count_by_status() == {"queued": 1}
    assert store.get_header(header_id) is not None
