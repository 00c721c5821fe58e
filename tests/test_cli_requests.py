"""`setup`, `today` and `plan` leave the parser as typed requests: the handlers read
no argparse Namespace, and every flag lands in its field."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from biofeedback.cli import command_requests
from biofeedback.cli import practice as practice_cli
from biofeedback.cli import setup as setup_cli
from biofeedback.cli.command_requests import PlanRequest, SetupRequest, TodayRequest
from biofeedback.cli.parser import build_parser
from biofeedback.cli.request import (
    SessionRequest,
    plan_request,
    setup_request,
    today_request,
)


def test_every_flag_lands_in_its_request() -> None:
    parser = build_parser()
    setup = parser.parse_args(
        ["setup", "--position", "lying", "--eyes", "closed", "--painful", "neck",
         "--tension-starts", "jaw", "--no-gentle-joints", "--back-pain", "--show", "--json"]
    )  # fmt: skip
    assert setup_request(setup) == SetupRequest(
        position="lying",
        eyes="closed",
        painful="neck",
        tension_starts="jaw",
        gentle_joints=False,
        back_pain=True,
        show=True,
        json=True,
    )
    assert setup_request(parser.parse_args(["setup", "--reset"])) == SetupRequest(reset=True)
    today = parser.parse_args(["today", "--json", "--at", "2026-03-02 22:30", "--db", "x.db"])
    assert today_request(today) == TodayRequest(json=True, at="2026-03-02 22:30", db="x.db")
    plan = parser.parse_args(["plan", "--ics", "week.ics", "--save"])
    assert plan_request(plan) == PlanRequest(ics="week.ics", save=True)


@pytest.mark.parametrize(
    ("handler", "request_type"),
    [
        (setup_cli.cmd_setup, SetupRequest),
        (practice_cli.cmd_today, TodayRequest),
        (practice_cli.cmd_plan, PlanRequest),
    ],
)
def test_handlers_take_a_typed_request(handler: object, request_type: type) -> None:
    # The request types are the handlers' annotations only (a session's start, which
    # loads the handlers' modules, never makes them).
    hints = typing.get_type_hints(handler, localns=vars(command_requests))
    assert hints["request"] is request_type


def test_handlers_run_from_a_request_alone(capsys: pytest.CaptureFixture[str]) -> None:
    # No parser involved: a request built by hand is enough to run each command.
    assert setup_cli.cmd_setup(SetupRequest(position="sitting")) == 0
    capsys.readouterr()
    assert setup_cli.cmd_setup(SetupRequest(show=True, json=True)) == 0
    assert json.loads(capsys.readouterr().out)["position"] == "sitting"
    assert practice_cli.cmd_plan(PlanRequest(json=True)) == 0
    assert json.loads(capsys.readouterr().out)["default"] is True

    def never(routine: str, db: str | None) -> int:
        raise AssertionError("not on a terminal: nothing is started")

    assert (
        practice_cli.cmd_today(TodayRequest(json=True, at="2026-03-02 22:30"), start_run=never) == 0
    )
    assert "command" in json.loads(capsys.readouterr().out)


def test_a_session_request_is_a_frozen_slotted_value() -> None:
    # Made by record (its methods shared, not compiled): frozen and slotted as the
    # dataclass it was, replace() and the defaults as before.
    request = SessionRequest(sim="calm", speed=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.sim = "panic"  # type: ignore[misc]
    assert not hasattr(request, "__dict__")
    changed = dataclasses.replace(request, seed=7)
    assert (changed.sim, changed.seed, changed.speed, changed.zone) == ("calm", 7, None, "auto")
    assert changed == SessionRequest(sim="calm", seed=7, speed=None) != request
    assert len(dataclasses.fields(SessionRequest)) == 29
