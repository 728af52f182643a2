"""diff() and graph_diff() as IoP 4.1.1 has them: ProductionDiff with "changes" of
ProductionDiffEntry (action, kind, path, before, after), their text, and the graph variant."""

from __future__ import annotations

from pathlib import Path

from compat_harness import SHARED_COMPONENTS, differential

COMPONENTS = {"diff_components.py": SHARED_COMPONENTS}

SCRIPT = '''
    from iop import Production, ProductionDiff, ProductionDiffEntry
    from diff_components import Router, Store

    def build(folder, pool, extra, testing=True):
        prod = Production("Diff.Production", testing_enabled=testing)
        router = prod.process("Router", Router, class_name="Demo.Router")
        store = prod.operation("Store", Store, class_name="Demo.Store")
        store.host_setting("Folder", folder)
        store.pool_size = pool
        prod.connect(router.Next, store)
        if extra:
            other = prod.operation("Extra", class_name="Demo.Extra")
            other.adapter_setting("FilePath", "/out")
            prod.connect(router.Next, other)
        return prod

    desired = build("/a", 2, True)
    current = build("/b", 1, False, testing=False)
    check("same", lambda: build("/a", 2, True).diff(build("/a", 2, True)).to_dict())
    check("same text", lambda: str(build("/a", 2, True).diff(build("/a", 2, True))))
    check("diff", lambda: desired.diff(current).to_dict())
    check("diff text", lambda: desired.diff(current).to_text())
    check("reverse", lambda: current.diff(desired).to_dict())
    check("has_changes", lambda: desired.diff(current).has_changes)
    check("entry types", lambda: sorted({type(c).__name__ for c in desired.diff(current).changes}))
    check("diff type", lambda: type(desired.diff(current)).__name__)
    check("against an export", lambda: desired.diff(current.to_dict()).to_dict())
    check("diff_deployable", lambda: desired.diff_deployable(current).to_dict())
    check("graph_diff", lambda: desired.graph_diff(current).to_dict())
    check("graph_diff same", lambda: desired.graph_diff(build("/a", 2, True)).to_dict())
    check("graph_diff against an import", lambda: desired.graph_diff(
        Production.from_dict(desired.to_dict())).to_dict())
    check("diff against an import", lambda: desired.diff(
        Production.from_dict(desired.to_dict())).to_dict())
    check("bad other", lambda: desired.diff(42))
    check("entry", lambda: ProductionDiffEntry("change", "item", "items.X.pool_size", "1",
                                               "2").to_text())
    check("entry detail", lambda: ProductionDiffEntry("add", "k", "p", after=[1],
                                                      detail="why").to_dict())
    check("empty diff", lambda: ProductionDiff("P", ()).to_text())
'''


def test_diff_and_graph_diff(tmp_path: Path) -> None:
    differential(COMPONENTS, SCRIPT, tmp_path)
