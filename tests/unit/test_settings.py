"""Component settings: categories, control strings, descriptors, description, coercion, apply."""

import sys
import textwrap
import types
from typing import Annotated, ClassVar

import pytest

from iop.components import settings as settings_module
from iop.components.settings import (
    PYTHON_ATTRIBUTES,
    Category,
    PortDeclaration,
    Setting,
    SettingInfo,
    apply_settings,
    coerce_setting_value,
    controls,
    describe_settings,
    install_annotated_defaults,
    missing_required,
    setting,
    target,
)


class _Host:
    """Stand-in for the framework's host base: installs Annotated settings like the real one."""

    _iop_kind = "service"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        install_annotated_defaults(cls)


# -- categories and controls ---------------------------------------------------------


def test_category_constants_are_the_iris_section_names():
    assert (Category.INFO, Category.BASIC, Category.CONNECTION) == ("Info", "Basic", "Connection")
    assert (Category.ADDITIONAL, Category.ALERTING, Category.DEV) == (
        "Additional", "Alerting", "Dev",
    )


def test_a_custom_category_string_is_kept():
    assert setting("/archive", category="Archiving").category == "Archiving"
    assert setting(30, category=Category.BASIC).category == "Basic"


@pytest.mark.parametrize(
    ("helper", "expected"),
    [
        (controls.directory, "directorySelector"),
        (controls.file, "fileSelector"),
        (
            controls.production_item,
            "selector?context={Ens.ContextSearch/ProductionItems?targets=1"
            "&productionName=@productionId}",
        ),
        (controls.credentials, "credentialsSelector"),
        (controls.rule, "ruleSelector"),
        (controls.dtl, "dtlSelector"),
        (controls.schedule, "scheduleSelector"),
        (controls.ssl_config, "sslConfigSelector"),
        (
            controls.framing,
            "selector?context={Ens.ContextSearch/getDisplayList?host=@currHostId&prop=Framing}",
        ),
        (controls.character_set, "selector?context={Ens.ContextSearch/CharacterSets}"),
        (controls.local_interface, "selector?context={Ens.ContextSearch/TCPLocalInterfaces}"),
    ],
)
def test_control_helpers_return_the_seed_strings(helper, expected):
    assert helper() == expected


def test_host_dependent_controls_embed_the_host_expression():
    assert controls.schema_category("@currHostId") == (
        "selector?context={Ens.ContextSearch/SchemaCategories?host=@currHostId}"
    )
    assert controls.search_table("@currHostId") == (
        "selector?context={Ens.ContextSearch/SearchTableClasses?host=@currHostId}"
    )


def test_production_item_options():
    assert controls.production_item(targets=False, production_name="Demo.P") == (
        "selector?context={Ens.ContextSearch/ProductionItems?targets=0&productionName=Demo.P}"
    )
    # multiSelect goes where IRIS's own classes put it, before the context.
    assert controls.production_item(multi_select=True) == (
        "selector?multiSelect=1&context={Ens.ContextSearch/ProductionItems?targets=1"
        "&productionName=@productionId}"
    )


def test_framing_options_and_raw():
    assert controls.framing(host="@h", prop="Sep") == (
        "selector?context={Ens.ContextSearch/getDisplayList?host=@h&prop=Sep}"
    )
    raw = "selector?context={Ens.ContextSearch/getDisplayList?host=@currHostId&prop=Framing}"
    assert controls.raw(raw) == raw == controls.framing()


# -- Setting and target descriptors ------------------------------------------------------


class FileService(_Host):
    InputDirectory = setting(
        "/data/in",
        category=Category.CONNECTION,
        required=True,
        description="Directory to scan",
        control=controls.directory(),
    )
    Target = setting("", category=Category.BASIC, required=True,
                     control=controls.production_item())
    Output = target()
    Limit = 10


def test_setting_class_access_returns_the_declaration():
    declared = FileService.InputDirectory
    assert isinstance(declared, Setting)
    assert declared.name == "InputDirectory"
    assert declared.owner is FileService
    assert declared.default == "/data/in"
    assert declared.control == "directorySelector"


def test_setting_instance_access_returns_default_then_configured_value():
    first, second = FileService(), FileService()
    assert first.InputDirectory == "/data/in"
    first.InputDirectory = "/tmp/x"
    assert first.InputDirectory == "/tmp/x"
    assert second.InputDirectory == "/data/in"


def test_setting_factory_returns_a_setting():
    declared = setting(5, required=True)
    assert isinstance(declared, Setting)
    assert (declared.default, declared.required, declared.category) == (5, True, None)


def test_target_declares_a_port():
    port = FileService.Output
    assert isinstance(port, PortDeclaration)
    assert (port.owner, port.name, port.default) == (FileService, "Output", "")
    assert port.category == "Basic"
    assert port.control == controls.production_item()
    assert str(port) == "FileService.Output"
    host = FileService()
    assert host.Output == ""
    host.Output = "OrderOperation"
    assert host.Output == "OrderOperation"


def test_target_options():
    port = target("Default", category=None, required=True, description="d", multi_select=True)
    assert (port.default, port.category, port.required, port.description) == (
        "Default", None, True, "d",
    )
    assert port.control.startswith("selector?multiSelect=1&")


# -- Annotated defaults ---------------------------------------------------------------------


class FramedService(_Host):
    Framing: Annotated[
        str, Setting("None", category=Category.CONNECTION, control=controls.framing())
    ]
    Port: Annotated[int, Setting(5000)] = 6000
    Plain: int = 3


def test_annotated_setting_becomes_a_class_setting():
    declared = FramedService.Framing
    assert isinstance(declared, Setting)
    assert (declared.name, declared.python_type, declared.default) == ("Framing", "str", "None")
    assert FramedService().Framing == "None"


def test_annotated_setting_with_an_assigned_value_uses_it_as_default():
    assert FramedService.Port.default == 6000
    assert FramedService.Port.python_type == "int"
    assert FramedService().Port == 6000


def test_one_annotated_setting_object_can_serve_two_classes():
    shared = Setting("x")

    class A(_Host):
        One: Annotated[str, shared]

    class B(_Host):
        Two: Annotated[str, shared]

    assert (A.One.name, B.Two.name) == ("One", "Two")


def test_string_annotations_are_evaluated(monkeypatch):
    source = textwrap.dedent(
        """
        from __future__ import annotations
        from typing import Annotated
        from iop.components.settings import Setting, install_annotated_defaults

        class Late:
            Count: Annotated[int, Setting(3, category="Basic")]
            Name: str = "n"

        install_annotated_defaults(Late)
        """
    )
    module = types.ModuleType("late_settings_module")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(source, "late_settings_module.py", "exec"), module.__dict__)
    infos = {i.name: i for i in describe_settings(module.Late)}
    assert infos["Count"].python_type == "int"
    assert infos["Count"].default == 3
    assert infos["Name"].python_type == "str"


# -- describe_settings -----------------------------------------------------------------------


class _FrameworkBase:
    __module__ = "iop.components.fake_base"
    CallInterval: int = 5
    Declared = setting(1, category="Basic")

    def on_init(self):
        pass


class Described(_FrameworkBase):
    First = "a"
    Second: Annotated[float, Setting(1.5, description="second")]
    Third: int = 3
    Flag = False
    Nothing = None
    Output = target()
    DISPATCH: ClassVar[dict] = {}
    ADAPTER = "Some.Adapter"
    _private = 1
    module_ref = types
    Nested = int

    def method(self):
        pass

    @classmethod
    def cm(cls):
        pass

    @staticmethod
    def sm():
        pass

    @property
    def prop(self):
        return 1


install_annotated_defaults(Described)


def test_describe_lists_settings_in_declaration_order():
    names = [i.name for i in describe_settings(Described)]
    assert names == ["Declared", "First", "Second", "Third", "Flag", "Nothing", "Output"]


def test_describe_types_and_metadata():
    infos = {i.name: i for i in describe_settings(Described)}
    assert infos["First"] == SettingInfo("First", "str", "a", None, None, False, "", False)
    assert infos["Second"].python_type == "float"
    assert infos["Second"].description == "second"
    assert infos["Third"].python_type == "int"
    assert infos["Flag"].python_type == "bool"
    assert infos["Nothing"].python_type == "str"
    assert infos["Output"].is_target
    assert infos["Output"].category == "Basic"
    assert infos["First"].section == PYTHON_ATTRIBUTES
    assert infos["Declared"].section == "Basic"


def test_describe_skips_plain_attributes_of_framework_classes():
    names = {i.name for i in describe_settings(Described)}
    assert "CallInterval" not in names
    assert "Declared" in names  # explicit settings of framework classes are shown


def test_subclass_overrides_keep_position_and_take_new_value():
    class Child(Described):
        First = "b"
        Extra = 1

        def Third(self):  # noqa: N802 - replacing a setting by behaviour removes it
            pass

    infos = describe_settings(Child)
    assert [i.name for i in infos] == [
        "Declared", "First", "Second", "Flag", "Nothing", "Output", "Extra",
    ]
    assert infos[1].default == "b"


def test_describe_takes_the_type_from_annotation_over_default():
    class Typed:
        Timeout: int = None
        Maybe: int | None = None
        Ratio: "float" = 1

    infos = {i.name: i.python_type for i in describe_settings(Typed)}
    assert infos == {"Timeout": "int", "Maybe": "int", "Ratio": "float"}


# -- coercion --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "Yes"])
def test_bool_true_spellings(text):
    assert coerce_setting_value(bool, text) is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "NO"])
def test_bool_false_spellings(text):
    assert coerce_setting_value("bool", text) is False


def test_numbers_and_strings():
    assert coerce_setting_value(int, " 42 ") == 42
    assert coerce_setting_value("float", "2.5") == 2.5
    assert coerce_setting_value(str, " keep ") == " keep "
    assert coerce_setting_value("Path", "/x") == "/x"
    assert coerce_setting_value("list", '["a", 1]') == ["a", 1]
    assert coerce_setting_value("dict", '{"a": 1}') == {"a": 1}


def test_bad_values_name_the_setting_and_the_value():
    info = SettingInfo("Limit", "int", 10, None, None, False, "", False)
    with pytest.raises(ValueError, match=r"setting 'Limit': 'ten' is not a valid int"):
        coerce_setting_value(info, "ten")
    with pytest.raises(ValueError, match=r"'maybe' is not a valid bool"):
        coerce_setting_value(bool, "maybe")
    with pytest.raises(ValueError, match=r"setting 'Ratio'"):
        coerce_setting_value(float, "x", name="Ratio")
    with pytest.raises(ValueError, match="not a valid dict"):
        coerce_setting_value("dict", "[1]")


def test_empty_text_gives_the_declared_default_for_non_strings():
    info = SettingInfo("Limit", "int", 10, None, None, False, "", False)
    assert coerce_setting_value(info, "") == 10
    assert coerce_setting_value(int, "") is None
    assert coerce_setting_value(str, "") == ""


def test_coerce_with_a_setting_object():
    assert coerce_setting_value(setting(1), "7") == 7


# -- apply_settings and missing_required --------------------------------------------------------


class Configurable(_FrameworkBase):
    Limit = 10
    Enabled = True
    Name = "x"
    Output = target()
    Framing: Annotated[str, Setting("None")]

    def on_message(self, request):
        return request


install_annotated_defaults(Configurable)


def test_apply_settings_coerces_declared_settings_and_reports_unknown_names():
    host = Configurable()
    unknown = apply_settings(
        host, {"Limit": "25", "Enabled": "false", "Output": "Ops", "Framing": "LF", "Other": "v"}
    )
    assert (host.Limit, host.Enabled, host.Output, host.Framing) == (25, False, "Ops", "LF")
    assert host.Other == "v"
    assert unknown == ["Other"]
    assert Configurable.Limit == 10  # the class default is untouched


def test_apply_settings_coerces_framework_attributes_without_reporting_them():
    host = Configurable()
    assert apply_settings(host, {"CallInterval": "2"}) == []
    assert host.CallInterval == 2


def test_apply_settings_reads_percent_settings_lines():
    host = Configurable()
    unknown = apply_settings(host, {"%settings": "Limit=3\npath=/irisdev/app/output/\n\nbad"})
    assert unknown == []
    assert host.Limit == 3
    assert host.path == "/irisdev/app/output/"


def test_apply_settings_refuses_to_replace_a_method():
    with pytest.raises(ValueError, match="on_message"):
        apply_settings(Configurable(), {"on_message": "x"})


def test_apply_settings_raises_on_a_bad_value():
    with pytest.raises(ValueError, match="'Limit'"):
        apply_settings(Configurable(), {"Limit": "lots"})


def test_missing_required():
    class Needs:
        Path = setting("", required=True)
        Dir = setting(None, required=True)
        Ready = setting("/x", required=True)
        Optional = setting("")

    assert missing_required(Needs, {}) == ["Path", "Dir"]
    assert missing_required(Needs, {"Path": "/p", "Dir": ""}) == ["Dir"]
    assert missing_required(Needs, {"Path": "/p", "Dir": "/d"}) == []


def test_module_exports():
    for name in settings_module.__all__:
        assert hasattr(settings_module, name)
