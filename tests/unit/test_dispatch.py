"""Which method handles which message: @handler, DISPATCH, typed methods, and their priority."""

from __future__ import annotations

from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, Message, handler
from iop.messages import build_dispatch_table
from iop.messages.codec import message_class_name

MODULE = __name__


@dataclass
class Alpha(Message):
    value: int = 0


@dataclass
class Beta(Message):
    value: int = 0


@dataclass
class Gamma(Message):
    value: int = 0


@dataclass
class AlphaChild(Alpha):
    extra: str = ""


def _name(cls: type) -> str:
    return message_class_name(cls)


def test_handler_decorator_with_a_class() -> None:
    class Op(BusinessOperation):
        @handler(Alpha)
        def on_alpha(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.methods == {_name(Alpha): "on_alpha"}
    assert table.method_for(Alpha(1)) == "on_alpha"
    assert table.method_for(Beta(1)) is None
    assert table.warnings == []


def test_handler_decorator_with_a_dotted_name() -> None:
    class Op(BusinessOperation):
        @handler(f"{MODULE}.Beta")
        def on_beta(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Beta()) == "on_beta"
    assert table.method_for(Alpha()) is None


def test_one_method_can_handle_several_classes() -> None:
    class Op(BusinessOperation):
        @handler(Alpha)
        @handler(Beta)
        def either(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Alpha()) == "either"
    assert table.method_for(Beta()) == "either"


def test_dispatch_attribute_maps_classes_and_names() -> None:
    class Op(BusinessOperation):
        DISPATCH = {Alpha: "do_alpha", f"{MODULE}.Beta": "do_beta"}

        def do_alpha(self, request):
            return None

        def do_beta(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Alpha()) == "do_alpha"
    assert table.method_for(Beta()) == "do_beta"


def test_dispatch_as_list_of_pairs() -> None:
    class Op(BusinessOperation):
        def do_gamma(self, request):
            return None

        DISPATCH = [(Gamma, do_gamma)]

    assert build_dispatch_table(Op).method_for(Gamma()) == "do_gamma"


def test_typed_methods_are_discovered() -> None:
    class Op(BusinessOperation):
        def handle_alpha(self, request: Alpha):
            return None

        def handle_beta(self, request: Beta) -> None:
            return None

        def helper(self, text: str):  # not a message type: not a handler
            return None

        def two_args(self, first: Gamma, second: Gamma):  # wrong arity: not a handler
            return None

    table = build_dispatch_table(Op)
    assert table.methods == {_name(Alpha): "handle_alpha", _name(Beta): "handle_beta"}


def test_framework_hooks_are_never_typed_handlers() -> None:
    class Proc(BusinessProcess):
        def on_request(self, request: Alpha):
            return None

    assert build_dispatch_table(Proc).methods == {}


def test_subclass_message_falls_back_to_base_class_handler() -> None:
    class Op(BusinessOperation):
        @handler(Alpha)
        def on_alpha(self, request):
            return None

    assert build_dispatch_table(Op).method_for(AlphaChild(1, "x")) == "on_alpha"


def test_exact_class_wins_over_base_class() -> None:
    class Op(BusinessOperation):
        @handler(Alpha)
        def on_alpha(self, request):
            return None

        @handler(AlphaChild)
        def on_child(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(AlphaChild()) == "on_child"
    assert table.method_for(Alpha()) == "on_alpha"


def test_priority_handler_over_dispatch_over_typed() -> None:
    class Op(BusinessOperation):
        DISPATCH = {Alpha: "alpha_by_dispatch", Beta: "beta_by_dispatch"}

        @handler(Alpha)
        def alpha_by_decorator(self, request):
            return None

        def alpha_by_dispatch(self, request):
            return None

        def alpha_by_type(self, request: Alpha):
            return None

        def beta_by_dispatch(self, request):
            return None

        def beta_by_type(self, request: Beta):
            return None

        def gamma_by_type(self, request: Gamma):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Alpha()) == "alpha_by_decorator"
    assert table.method_for(Beta()) == "beta_by_dispatch"
    assert table.method_for(Gamma()) == "gamma_by_type"
    text = "\n".join(table.warnings)
    assert "alpha_by_dispatch" in text and "alpha_by_type" in text
    assert "beta_by_type" in text
    assert "gamma_by_type" not in text  # nothing was discarded for Gamma


def test_priority_does_not_depend_on_declaration_order() -> None:
    class Op(BusinessOperation):
        def alpha_by_type(self, request: Alpha):
            return None

        @handler(Alpha)
        def alpha_by_decorator(self, request):
            return None

        DISPATCH = {Alpha: "alpha_by_type"}

    assert build_dispatch_table(Op).method_for(Alpha()) == "alpha_by_decorator"


def test_same_priority_duplicate_keeps_the_later_handler() -> None:
    class Op(BusinessOperation):
        @handler(Alpha)
        def first_handler(self, request):
            return None

        @handler(f"{MODULE}.Alpha")
        def second_handler(self, request):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Alpha()) == "second_handler"
    assert len(table.warnings) == 1
    warning = table.warnings[0]
    assert "first_handler" in warning  # names the discarded handler
    assert "discarded" in warning
    assert _name(Alpha) in warning


def test_same_priority_typed_duplicate_keeps_the_later_method() -> None:
    class Op(BusinessOperation):
        def early(self, request: Beta):
            return None

        def late(self, request: Beta):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Beta()) == "late"
    assert any("early" in w and "discarded" in w for w in table.warnings)


def test_warning_names_the_discarded_lower_priority_handler() -> None:
    class Op(BusinessOperation):
        DISPATCH = {Gamma: "gamma_dispatch"}

        def gamma_dispatch(self, request):
            return None

        def gamma_typed(self, request: Gamma):
            return None

    table = build_dispatch_table(Op)
    assert table.method_for(Gamma()) == "gamma_dispatch"
    assert len(table.warnings) == 1
    assert "gamma_typed" in table.warnings[0]
    assert "Op" in table.warnings[0]


def test_subclass_override_replaces_inherited_handler() -> None:
    class Base(BusinessOperation):
        @handler(Alpha)
        def on_alpha(self, request):
            return "base"

    class Derived(Base):
        @handler(Alpha)
        def on_alpha(self, request):
            return "derived"

    table = build_dispatch_table(Derived)
    assert table.method_for(Alpha()) == "on_alpha"
    assert table.warnings == []  # an override is not a duplicate
