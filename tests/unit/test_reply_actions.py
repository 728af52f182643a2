"""ReplyCodeActions: the IRIS rule syntax and how a reply is judged by it."""

from __future__ import annotations

import pytest

from iop.engine.outcomes.reply_code_actions import BadReplyCodeActions, Failure, ReplyCodeActions

ERROR = Failure("ConnectionError: refused")
CODED = Failure("ERROR #6301: SAX parser error", None)
NO_REPLY = Failure(None, has_reply=False)


def decide(rules: str, failure: Failure) -> tuple[str, str]:
    decision = ReplyCodeActions(rules).decide(failure)
    return decision.actions, decision.final()


def test_empty_rules_fail_errors_and_complete_empty_replies() -> None:
    assert decide("", ERROR) == ("F", "F")
    assert decide("", NO_REPLY) == ("C", "C")


def test_first_matching_rule_left_to_right_decides() -> None:
    # As in IRIS: E matches every error, so a later E#6301 rule never applies.
    assert decide("E=R,E#6301=F,*=S", CODED) == ("R", "F")
    assert decide("E#6301=F,E=R", CODED) == ("F", "F")
    assert decide("E#6301=F,E=R", ERROR) == ("R", "F")


def test_status_code_from_text_or_from_the_exception() -> None:
    assert decide("E#6301=S", CODED)[1] == "S"
    assert decide("E#6301=S", Failure("plain failure", code="6301"))[1] == "S"
    assert decide("E#6301=S", ERROR)[1] == "F"  # no rule matches: errors fail


def test_text_match_is_case_insensitive() -> None:
    assert decide("E*REFUSED=RS", ERROR) == ("RS", "S")
    assert decide("E*timeout=RS", ERROR) == ("F", "F")


def test_grouped_codes_and_star() -> None:
    rules = "(E#6301,E*refused)=D,*=S"
    assert decide(rules, CODED)[1] == "D"
    assert decide(rules, ERROR)[1] == "D"
    assert decide(rules, Failure("disk full"))[1] == "S"
    assert decide(rules, NO_REPLY)[1] == "S"  # * also covers a missing reply


def test_x_matches_only_a_missing_reply() -> None:
    assert decide("X=S", NO_REPLY)[1] == "S"
    assert decide("X=S", ERROR)[1] == "F"


def test_warnings_log_and_complete_unless_something_else_applies() -> None:
    only_warn = ReplyCodeActions("E=W").decide(ERROR)
    assert (only_warn.actions, only_warn.final(), only_warn.warnings) == ("C", "C", ("E=W",))
    both = ReplyCodeActions("E*refused=W,E=R").decide(ERROR)
    assert (both.actions, both.final(), both.warnings) == ("R", "F", ("E*refused=W",))
    combined = ReplyCodeActions("E=WC").decide(ERROR)
    assert combined.completes and combined.warnings == ("E=WC",)


def test_retry_then_final_action() -> None:
    assert decide("E=RF", ERROR) == ("RF", "F")
    assert decide("E=RD", ERROR) == ("RD", "D")
    assert ReplyCodeActions("E=R").decide(ERROR).retry


@pytest.mark.parametrize("text, needle", [
    ("E", "has no '=<actions>'"),
    ("E=Q", "must be letters among"),
    ("E=", "must be letters among"),
    ("Z=F", "unknown reply code 'Z'"),
    ("E#=F", "unknown reply code 'E#'"),
    ("(E,X=F", "unbalanced"),
])
def test_malformed_rules_are_refused_with_the_reason(text: str, needle: str) -> None:
    with pytest.raises(BadReplyCodeActions, match="ReplyCodeActions") as info:
        ReplyCodeActions(text)
    assert needle in str(info.value)
