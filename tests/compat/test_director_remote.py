"""Remote mode, both packages against one real `iop --serve`: with IOP_URL set, IoP 4.1.1's
Production helpers go through its remote director and ours through our Director; the same
calls must give the same answers, refusals and end state."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential
from remote_server import (  # noqa: F401  (served is a fixture)
    ADMIN,
    SCENARIO_PRODUCTION,
    SCENARIO_SETTINGS,
    ServedEngine,
    served,
)

SCRIPT = '''
    import os

    os.environ.update(IOP_URL={url!r}, IOP_USERNAME={user!r}, IOP_PASSWORD={password!r},
                      IOP_NAMESPACE={namespace!r})

    from iop import Production
    from settings import PingMessage

    NAME = {name!r}
    prod = Production.from_iris(NAME)
    check("kinds", lambda: [prod.item("Router").kind, prod.item("Echo").kind,
                            prod.item("Router").class_name])
    check("status_stopped", prod.status)
    check("start", prod.start)
    check("status_running", prod.status)
    check("stop_component", lambda: prod.stop_component("Echo"))
    check("echo_disabled", lambda: [i["@Enabled"] for i in prod.export()[NAME]["Item"]
                                    if i["@Name"] == "Echo"])
    check("start_component", lambda: prod.item("Echo").start())
    check("restart_component", lambda: prod.restart_component("Router.Output"))
    check("test_dataclass", lambda: prod.test("Router", PingMessage("hi")))
    check("test_classname_body", lambda: prod.test_component(
        "Echo", classname="settings.PingMessage", body='{{"text": "body"}}'))
    check("test_unknown_item", lambda: prod.test("Nothing"))
    check("queue", lambda: {{k: v["queue_name"] for k, v in prod.queue().items()}})
    check("inspect_runtime", lambda: {{k: v for k, v in
                                       prod.item("Echo").inspect()["runtime"].items()
                                       if k != "queue"}})
    check("other_stop", lambda: Production("Other.Production").stop())
    check("other_test", lambda: Production("Other.Production").test("Echo"))
    check("update", prod.update)
    check("stop", prod.stop)
    check("status_after", prod.status)
    check("stop_again", prod.stop)
    check("test_stopped", lambda: prod.test("Router"))
    check("export_keys", lambda: sorted(prod.export()))
'''


def test_remote_helpers_match_iop(served: ServedEngine, tmp_path: Path) -> None:  # noqa: F811
    namespace = served.new_namespace("CMP")
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.py").write_text(SCENARIO_SETTINGS, encoding="utf-8")
    migrated = served.iop_local("-m", str(project / "settings.py"), "-n", namespace)
    assert migrated.returncode == 0, migrated.stderr
    script = SCRIPT.format(url=served.url, user=ADMIN[0], password=ADMIN[1],
                           namespace=namespace, name=SCENARIO_PRODUCTION)
    differential({"settings.py": SCENARIO_SETTINGS}, script, tmp_path / "runs")


DIRECTOR_SCRIPT = '''
    import os

    os.environ.update(IOP_URL={url!r}, IOP_USERNAME={user!r}, IOP_PASSWORD={password!r},
                      IOP_NAMESPACE={namespace!r})

    try:  # IoP 4.1.1: the director its Production helpers use when IOP_URL is set
        from iop.runtime.remote import _RemoteDirector, get_remote_settings

        director = _RemoteDirector(get_remote_settings())
    except ImportError:  # ours
        from iop import Director

        director = Director()

    NAME = {name!r}
    check("namespace", lambda: director.namespace)
    check("default_before", director.get_default_production)
    check("set_default", lambda: director.set_default_production(NAME))
    check("default", director.get_default_production)
    check("status_stopped", director.status_production)
    check("list_stopped", lambda: {{k: v["Status"] for k, v in
                                    director.list_productions().items()}})
    check("start", lambda: director.start_production(NAME))
    check("status_running", director.status_production)
    check("export", lambda: director.export_production(NAME))
    check("connections", lambda: director.export_production_connections(NAME))
    check("queues", lambda: director.export_production_queue_info(NAME))
    check("stop_component", lambda: director.stop_component("Echo"))
    check("start_component", lambda: director.start_component("Echo"))
    check("restart_component", lambda: director.restart_component("Echo"))
    check("test", lambda: director.test_component(
        "Router", classname="settings.PingMessage", body={{"text": "dict body"}}))
    check("test_no_restart", lambda: director.test_component(
        "Echo", classname="settings.PingMessage", body='{{"text": "s"}}', restart=False))
    check("test_unknown", lambda: director.test_component("Nothing"))
    check("bindings", lambda: sorted(b["class"] for b in director.list_bindings()))
    check("unused_bindings", lambda: director.list_bindings(unused_only=True))
    check("update", director.update_production)
    check("stop", director.stop_production)
    check("status_after", director.status_production)
    check("stop_again", director.stop_production)
    check("plan_refused", lambda: director.apply_production_plan({{}}))

    from iop import Production

    check("sync_refused", lambda: Production(NAME, director=director).sync())
'''


def test_remote_director_matches_iop(served: ServedEngine, tmp_path: Path) -> None:  # noqa: F811
    namespace = served.new_namespace("DRC")
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.py").write_text(SCENARIO_SETTINGS, encoding="utf-8")
    migrated = served.iop_local("-m", str(project / "settings.py"), "-n", namespace)
    assert migrated.returncode == 0, migrated.stderr
    served.iop_local("-d", "", "-n", namespace)  # no default production to start with
    script = DIRECTOR_SCRIPT.format(url=served.url, user=ADMIN[0], password=ADMIN[1],
                                    namespace=namespace, name=SCENARIO_PRODUCTION)
    differential({"settings.py": SCENARIO_SETTINGS}, script, tmp_path / "runs")
