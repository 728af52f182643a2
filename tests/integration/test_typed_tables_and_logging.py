"""PersistentMessage tables grow with their class (schema mode extend); host log levels."""

from __future__ import annotations

import sqlite3
from typing import Any

from iop import Field, PersistentMessage
from iop.engine.host_runtime import HostRuntime


def test_a_new_field_adds_a_column_and_keeps_old_rows(store: Any) -> None:
    class Invoice(PersistentMessage):
        Number: str = Field(required=True)

        class Meta:
            classname = "Test.Invoice"

    runtime = HostRuntime(store, "Tester", "test")
    runtime.send(None, "Nobody", Invoice(Number="I-1"), sync=False, response_required=False)

    class InvoiceV2(PersistentMessage):  # the same engine class, one field more
        Number: str = Field(required=True)
        Total: float = 0.0

        class Meta:
            classname = "Test.Invoice"

    runtime.send(None, "Nobody", InvoiceV2(Number="I-2", Total=12.0), sync=False,
                 response_required=False)
    with sqlite3.connect(store.location) as db:
        columns = [row[1] for row in db.execute('PRAGMA table_info("msg_Test_Invoice")')]
        rows = db.execute('SELECT Number, Total FROM "msg_Test_Invoice" ORDER BY body_id').fetchall()
    assert columns == ["body_id", "Number", "Total"]
    assert rows == [("I-1", None), ("I-2", 12.0)]


def test_every_log_level_reaches_the_event_log(make_project: Any, store: Any) -> None:
    project = make_project('''
        class Talker(BusinessService):
            def on_process_input(self, message_input):
                self.log_info("an info")
                self.log_warning("a warning")
                self.log_error("an error")
                self.log_alert("an alert")
                self.log_trace("a trace")
                self.log_assert("an assert")
        ''', '''
        prod = Production("Log.Production")
        prod.service("Talker", Talker)
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    from iop import Director

    Director().create_business_service("Talker").on_process_input(None)
    entries = [e.to_dict() for e in store.log_since(0) if e.item == "Talker"]
    assert [(e["type"], e["text"]) for e in entries] == [
        ("Info", "an info"), ("Warning", "a warning"), ("Error", "an error"),
        ("Alert", "an alert"), ("Trace", "a trace"), ("Assert", "an assert")]
    assert all(e["source_method"] == "on_process_input" for e in entries)
    assert all(e["source_class"].endswith(".Talker") for e in entries)
    assert all(isinstance(e["id"], int) for e in entries)
