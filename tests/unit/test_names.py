"""The name grammar (iop.names) and the confinement of names in paths (iop.store.private)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from iop.names import CLASS, ITEM, NAMESPACE, PRODUCTION, check_definition_names, check_name
from iop.store import check_namespace
from iop.store.errors import StoreError
from iop.store.private import confined, name_in_path

REPO = Path(__file__).resolve().parents[2]

# Names of the seed documents (the specification), and those IoP users commonly write.
SEED_NAMES = {
    PRODUCTION: ["Demo.Production", "Demo.FileProduction", "IoP.Production", "dc.Python.Production"],
    ITEM: ["FileInput", "OrderOperation", "FileOut", "FileIn", "AuditOperation",
           "Python.FileOperation", "Python.WrongOperation", "Alerts.Operation", "HL7 In",
           "Router-2", "my_item", "Ünïcode Item", "Item.Port"],
    CLASS: ["EnsLib.File.PassthroughOperation", "EnsLib.File.PassthroughService",
            "Python.FileOperation", "Demo.Msg.OrderMessage", "%Library.String",
            "Python.__main__.Echo", "Python.tests.mod.test_x.<locals>.Op",
            "Python.my-settings.Echo"],
    NAMESPACE: ["USER", "%SYS", "IRISAPP", "dev-1", "My_NS"],
}

_DECLARED = {
    PRODUCTION: re.compile(r'Production\(\s*"([^"{}\n]+)"'),
    ITEM: re.compile(r'\.(?:service|process|operation|component)\(\s*"([^"{}\n]+)"'
                     r'|(?:Service|Process|Operation|Component)Item\(\s*"([^"{}\n]+)"'),
    CLASS: re.compile(r'class_name="([^"{}\n]+)"|iris_classname="([^"{}\n]+)"'),
}


def _names_used_in_the_repo() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {kind: set() for kind in _DECLARED}
    for folder in ("tests", "examples", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            if "security" in path.parts or path.name == Path(__file__).name:
                continue  # hostile names on purpose, or the patterns themselves
            text = path.read_text(encoding="utf-8", errors="replace")
            for kind, pattern in _DECLARED.items():
                for match in pattern.finditer(text):
                    found[kind].add(next(g for g in match.groups() if g))
    return found


def test_every_name_of_the_seeds_and_of_the_repo_is_accepted() -> None:
    used = _names_used_in_the_repo()
    assert len(used[PRODUCTION]) > 10 and len(used[ITEM]) > 20
    for kind, names in SEED_NAMES.items():
        for name in [*names, *used.get(kind, ())]:
            assert check_name(kind, name) == name


@pytest.mark.parametrize(("kind", "name", "why"), [
    (ITEM, "../../../../tmp/x", "it contains '/'"),
    (ITEM, "/tmp/y", "it contains '/'"),
    (ITEM, "a\\b", "it contains '\\\\'"),
    (ITEM, "x\n", "control or non-printable"),
    (ITEM, "a\x00b", "control or non-printable"),
    (ITEM, "\u202eevil", "control or non-printable"),
    (ITEM, "x" * 129, "129 characters long"),
    (ITEM, " x", "starts or ends with a space"),
    (ITEM, "x ", "starts or ends with a space"),
    (ITEM, "a,b", "it contains ','"),
    (ITEM, "..", "folder or a command-line option"),
    (ITEM, "-rf", "folder or a command-line option"),
    (ITEM, "", "it is empty"),
    (ITEM, 7, "it is a int, not text"),
    (PRODUCTION, "Demo.Production\n", "it contains '\\n'"),
    (PRODUCTION, "Demo/Production", "it contains '/'"),
    (PRODUCTION, "Demo..Production", "part is empty"),
    (PRODUCTION, "1Demo", "part is empty or starts with a digit"),
    (PRODUCTION, "Demo.-P", "part is empty or starts with a digit or '-'"),
    (CLASS, "a b", "it contains ' '"),
    (NAMESPACE, "%SYS\n", "it contains '\\n'"),
    (NAMESPACE, "../USER", "it contains '.'"),
    (NAMESPACE, "9LIVES", "does not start with a letter"),
    (NAMESPACE, "N" * 65, "65 characters long"),
])
def test_bad_names_are_refused_in_one_line_naming_them(kind: str, name: object, why: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_name(kind, name)
    text = str(refused.value)
    assert text.startswith(f"invalid {kind} name ") and why in text, text
    assert "\n" not in text and len(text) < 400


def test_check_namespace_keeps_its_store_error_and_upper_case() -> None:
    assert check_namespace("user") == "USER"
    with pytest.raises(StoreError, match=r"invalid namespace name '%SYS\\n'"):
        check_namespace("%SYS\n")


def test_definition_names_are_checked_item_by_item() -> None:
    good = {"Production": {"@Name": "P.Q", "Item": [{"@Name": "A b", "@ClassName": "X.Y"}]}}
    check_definition_names(good)
    bad = {"Production": {"@Name": "P.Q", "Item": [{"@Name": "a/b", "@ClassName": "X.Y"}]}}
    with pytest.raises(ValueError, match="invalid item name 'a/b'"):
        check_definition_names(bad)


def test_names_become_one_safe_distinct_file_name_part() -> None:
    names = ["../../../../tmp/x", "/tmp/y", ".hidden", "File In", "a%2Fb", "a/b", "x" * 500,
             "x" * 499 + "y", "Python.FileOperation"]
    parts = [name_in_path(n) for n in names]
    assert len(set(parts)) == len(parts)
    for part in parts:
        assert "/" not in part and not part.startswith(".") and len(part) <= 120
    assert name_in_path("Python.FileOperation") == "Python.FileOperation"


def test_confined_refuses_a_path_that_leaves_its_folder(tmp_path: Path) -> None:
    assert confined(str(tmp_path), "a.log") == os.path.join(os.path.realpath(tmp_path), "a.log")
    for escaping in ("../a.log", "/tmp/a.log", "sub/../../a.log"):
        with pytest.raises(ValueError, match="outside"):
            confined(str(tmp_path), escaping)
    (tmp_path / "link.log").symlink_to("/tmp/elsewhere.log")
    with pytest.raises(ValueError, match="outside"):
        confined(str(tmp_path), "link.log")
