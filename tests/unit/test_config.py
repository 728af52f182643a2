"""Reading a stored production definition (the IRIS export shape) into the engine's config."""

from __future__ import annotations

import copy

import pytest

from iop.engine.config import parse_production
from iop.engine.errors import EngineError

# The export example of seed 000 (`iop -e IoP.Production`), verbatim.
SEED_EXPORT = {
    "Production": {
        "@Name": "IoP.Production",
        "@TestingEnabled": "true",
        "@LogGeneralTraceEvents": "false",
        "Description": "",
        "ActorPoolSize": "2",
        "Item": [
            {
                "@Name": "Python.FileOperation",
                "@Category": "",
                "@ClassName": "Python.FileOperation",
                "@PoolSize": "1",
                "@Enabled": "true",
                "@Foreground": "false",
                "@Comment": "",
                "@LogTraceEvents": "true",
                "@Schedule": "",
                "Setting": [
                    {"@Target": "Adapter", "@Name": "Charset", "#text": "utf-8"},
                    {"@Target": "Adapter", "@Name": "FilePath", "#text": "/irisdev/app/output/"},
                    {"@Target": "Host", "@Name": "%settings", "#text": "path=/irisdev/app/output/"},
                ],
            }
        ],
    }
}


def test_seed_export_example() -> None:
    config = parse_production(SEED_EXPORT)
    assert config.name == "IoP.Production"
    assert config.testing_enabled is True
    assert config.actor_pool_size == 2
    assert [item.name for item in config.items] == ["Python.FileOperation"]
    item = config.item("Python.FileOperation")
    assert item is not None
    assert item.class_name == "Python.FileOperation"
    assert item.pool_size == 1
    assert item.enabled is True
    assert item.foreground is False
    assert item.adapter_settings == {"Charset": "utf-8", "FilePath": "/irisdev/app/output/"}
    assert item.host_settings == {"%settings": "path=/irisdev/app/output/"}
    assert config.item("Nope") is None


def test_single_item_and_single_setting_objects() -> None:
    definition = {"Production": {
        "@Name": "One.Production",
        "Setting": {"@Target": "Production", "@Name": "ShutdownTimeout", "#text": "7"},
        "Item": {
            "@Name": "Only", "@ClassName": "Python.mod.Only", "@PoolSize": "3",
            "@Enabled": "false",
            "Setting": {"@Target": "Host", "@Name": "Greeting", "#text": "hi"},
        },
    }}
    config = parse_production(definition)
    assert [item.name for item in config.items] == ["Only"]
    only = config.items[0]
    assert only.pool_size == 3
    assert only.enabled is False
    assert only.host_settings == {"Greeting": "hi"}
    assert only.adapter_settings == {}
    assert config.settings == {"ShutdownTimeout": "7"}
    assert config.setting("ShutdownTimeout", 120) == 7.0
    assert config.setting("UpdateTimeout", 10) == 10


def test_definition_keyed_by_production_name() -> None:
    body = copy.deepcopy(SEED_EXPORT["Production"])
    config = parse_production({"IoP.Production": body})
    assert config.name == "IoP.Production"
    assert config.item("Python.FileOperation") is not None


def test_setting_without_text_is_empty() -> None:
    definition = copy.deepcopy(SEED_EXPORT)
    definition["Production"]["Item"][0]["Setting"].append({"@Target": "Host", "@Name": "Blank"})
    item = parse_production(definition).items[0]
    assert item.host_settings["Blank"] == ""


def test_defaults_when_attributes_are_missing() -> None:
    config = parse_production({"Production": {"@Name": "Bare", "Item": [{"@Name": "Python.X"}]}})
    assert config.testing_enabled is False
    item = config.items[0]
    assert item.class_name == "Python.X"  # the class name defaults to the item name
    assert (item.pool_size, item.enabled, item.foreground) == (1, True, False)


@pytest.mark.parametrize("pool", ["two", "1.5", "x1"])
def test_bad_pool_size_is_an_error_naming_the_item(pool: str) -> None:
    definition = copy.deepcopy(SEED_EXPORT)
    definition["Production"]["Item"][0]["@PoolSize"] = pool
    with pytest.raises(EngineError) as info:
        parse_production(definition)
    assert "Python.FileOperation" in str(info.value)
    assert "PoolSize" in str(info.value)


def test_bad_actor_pool_size_is_an_error() -> None:
    definition = copy.deepcopy(SEED_EXPORT)
    definition["Production"]["ActorPoolSize"] = "many"
    with pytest.raises(EngineError, match="ActorPoolSize"):
        parse_production(definition)


def test_duplicate_item_names_are_an_error() -> None:
    definition = copy.deepcopy(SEED_EXPORT)
    definition["Production"]["Item"].append(copy.deepcopy(definition["Production"]["Item"][0]))
    with pytest.raises(EngineError, match="Python.FileOperation"):
        parse_production(definition)


def test_item_without_name_is_an_error() -> None:
    with pytest.raises(EngineError, match="no @Name"):
        parse_production({"Production": {"@Name": "P", "Item": [{"@ClassName": "Python.X"}]}})


@pytest.mark.parametrize("definition", [{}, [], "Production", {"Production": "text"}])
def test_malformed_definitions_are_errors(definition: object) -> None:
    with pytest.raises(EngineError):
        parse_production(definition)  # type: ignore[arg-type]


def test_signature_tracks_what_needs_a_restart() -> None:
    first = parse_production(copy.deepcopy(SEED_EXPORT)).items[0]
    same = parse_production(copy.deepcopy(SEED_EXPORT)).items[0]
    assert first.signature() == same.signature()
    changed = copy.deepcopy(SEED_EXPORT)
    changed["Production"]["Item"][0]["Setting"][0]["#text"] = "latin-1"
    assert parse_production(changed).items[0].signature() != first.signature()
    resized = copy.deepcopy(SEED_EXPORT)
    resized["Production"]["Item"][0]["@PoolSize"] = "2"
    assert parse_production(resized).items[0].signature() != first.signature()
