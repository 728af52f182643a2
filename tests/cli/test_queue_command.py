"""`iop --queue-messages ITEM`, `iop --abort ID... --target ITEM` and `iop --suspend ID...
--target ITEM`: an item's queue listed and acted on from the command line."""

from __future__ import annotations

import getpass
import json
from typing import Any

from iop.store import queries as q
from iop.store import records as r


def test_list_abort_and_suspend_from_the_command_line(store: Any, run_iop: Any,
                                                      iop_json: Any) -> None:
    ids = store.send([r.MessageDraft(source="Svc", target="Parked", body_class="demo.Msg",
                                     body_text=json.dumps({"n": n})) for n in range(3)])
    listed = iop_json("--queue-messages", "Parked")
    assert [m["id"] for m in listed["messages"]] == ids
    assert [m["in_progress"] for m in listed["messages"]] == [False] * 3

    assert iop_json("--abort", ids[0], "--target", "Parked") == [
        {"id": ids[0], "status": "aborted"}]
    assert iop_json("--suspend", ids[1], "--target", "Parked") == [
        {"id": ids[1], "status": "suspended"}]
    assert [m["id"] for m in iop_json("--queue-messages", "Parked")["messages"]] == ids[2:]
    assert store.get_header(ids[0]).status == "aborted"
    assert [m["id"] for m in iop_json("--suspended")] == [ids[1]]
    texts = [e.text for e in store.search_log(q.LogFilter(item="Parked"))]
    assert f"message {ids[0]} aborted by {getpass.getuser()} from the queue of Parked" in texts

    refused = run_iop("--abort", ids[0], "--target", "Parked", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: message {ids[0]} is not waiting in the queue of Parked; nothing was aborted"]
    no_target = run_iop("--suspend", ids[2], check=False)
    assert no_target.returncode == 1 and "--suspend needs --target ITEM" in no_target.stderr
    assert store.get_header(ids[2]).status == "queued"
