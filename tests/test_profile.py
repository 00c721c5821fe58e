"""The practice profile: what it holds, how it is stored, what it does to a routine."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from biofeedback import config
from biofeedback.cli.setup import audio_mode, load_profile, save_profile, session_plan
from biofeedback.models import PlanChosen, StepKind, event_from_dict
from biofeedback.pacing.controller import PacingController
from biofeedback.pacing.frame import Part, part_of
from biofeedback.pacing.planner import CLOSING_BREATH, CLOSING_SCAN, SETTLE
from biofeedback.routines.personalise import (
    GENTLE_PREFIX,
    audio_mode_for,
    personalise,
    routine_name_for,
)
from biofeedback.routines.profile import Profile, ProfileError, profile_from_table
from biofeedback.routines.protocols import MAX_TENSE_S, load_protocol, parse_protocol

FULL_PROFILE = Profile(
    position="lying",
    eyes="closed",
    painful=("lower-back",),
    tension_starts="shoulders",
    gentle_joints=True,
    back_pain=True,
)


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "biofeedback" / "config.toml"


# --------------------------------------------------------------------------
# Stored in config.toml


def test_profile_round_trips_privately_and_keeps_the_other_tables() -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text(
        '[device]\naddress = "AA:BB:CC:DD:EE:01"\n'
        '[mqtt]\nrunner = "bedroom"\npassword = "s3cret"\n[mqtt.tls]\nca_file = "/ca.pem"\n'
        '[dashboard.keys]\n"session.skip" = "n"\n'
    )
    save_profile(FULL_PROFILE)
    assert load_profile() == FULL_PROFILE
    data = tomllib.loads(config_file().read_text())
    assert data["mqtt"] == {
        "runner": "bedroom",
        "password": "s3cret",
        "tls": {"ca_file": "/ca.pem"},
    }
    assert data["profile"]["painful"] == ["lower-back"]
    assert config.load().device == config.PairedDevice("AA:BB:CC:DD:EE:01")
    assert config.load().dashboard.keys == (("session.skip", "n"),)
    assert stat.S_IMODE(config_file().stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file().parent.stat().st_mode) == 0o700
    # Pairing again keeps the profile.
    config.remember_device(config.PairedDevice("AA:BB:CC:DD:EE:02"))
    assert load_profile() == FULL_PROFILE
    # An empty profile removes the table.
    save_profile(Profile())
    assert "profile" not in tomllib.loads(config_file().read_text())
    assert load_profile() == Profile()


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"position": "upside-down"}, ["position", "sitting"]),
        ({"eyes": "half"}, ["eyes", "closed"]),
        ({"painful": "neck"}, ["painful", "list"]),
        ({"painful": ["knee"]}, ["'knee'", "lower-back"]),
        ({"tension_starts": "elbow"}, ["'elbow'"]),
        ({"gentle_joints": "yes"}, ["gentle_joints", "true or false"]),
        ({"colour": "blue"}, ["unknown keys colour"]),
    ],
)
def test_a_wrong_profile_table_is_one_clear_error(table: object, words: list[str]) -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_table(table, "/x/config.toml")
    message = str(info.value)
    assert "\n" not in message
    assert "/x/config.toml" in message
    for word in words:
        assert word in message


def test_session_flags_override_the_profile() -> None:
    stored = Profile(painful=("neck",), tension_starts="shoulders", gentle_joints=True)
    over = stored.overridden(imagery=["hands"], start_region="feet", gentle=False)
    assert over.painful == ("hands", "neck")  # added to, never dropped
    assert over.tension_starts == "feet"
    assert over.gentle_joints is False
    assert stored.overridden() == stored


# --------------------------------------------------------------------------
# What it does to a routine (pure)


def test_no_profile_changes_nothing() -> None:
    full = load_protocol("full")
    plan = personalise(full, Profile())
    assert plan.routine == full
    assert plan.notes == ()


def test_tension_start_moves_that_group_first_and_keeps_the_rest_in_order() -> None:
    full = load_protocol("full")
    plan = personalise(full, Profile(tension_starts="shoulders"))
    regions = plan.routine.regions
    assert regions[0] == "shoulders"
    assert regions[1:] == tuple(r for r in full.regions if r != "shoulders")
    # The shoulders' settling breath travels with them.
    ids = [s.id for s in plan.routine.steps]
    assert ids[:3] == ["shoulders-tense", "shoulders-release", "torso-breath"]
    assert sorted(ids) == sorted(s.id for s in full.steps)
    assert any("shoulders" in n for n in plan.notes)


def test_a_start_region_the_routine_lacks_keeps_its_order_and_says_so() -> None:
    reset = load_protocol("work-reset")
    plan = personalise(reset, Profile(tension_starts="feet"))
    assert plan.routine.steps == reset.steps
    assert plan.notes == ("this routine has no feet work, so it keeps its own order",)


def test_gentle_joints_give_short_soft_holds_and_keep_the_releases() -> None:
    full = load_protocol("full", sides=True)
    plan = personalise(full, Profile(gentle_joints=True))
    tense = [s for s in plan.routine.steps if s.kind is StepKind.TENSE]
    assert tense
    assert all(s.planned_s <= MAX_TENSE_S["micro"] for s in tense)
    assert all(s.cue.startswith(GENTLE_PREFIX) for s in tense)
    releases = [s.planned_s for s in plan.routine.steps if s.kind is StepKind.RELEASE]
    assert releases == [s.planned_s for s in full.steps if s.kind is StepKind.RELEASE]
    assert plan.routine.effort == "micro"
    assert plan.routine.duration_s < full.duration_s
    assert any("micro-contractions" in n for n in plan.notes)


def test_an_adapted_routine_still_passes_the_protocol_safety_rules() -> None:
    # Rebuild the adapted routine through the validator that guards protocol files.
    plan = personalise(load_protocol("full", sides=True), FULL_PROFILE)
    entries = [
        {"id": s.id, "kind": s.kind.value, "cue": s.cue, "s": s.planned_s}
        | ({"region": s.region} if s.region else {})
        for s in plan.routine.steps
    ]
    data = {"name": "x", "title": "x", "zone": "green", "effort": plan.routine.effort}
    parse_protocol({**data, "steps": entries}, origin="adapted")


def test_back_pain_chooses_back_care_unless_a_routine_was_asked_for() -> None:
    assert routine_name_for(None, Profile(back_pain=True))[0] == "back-care"
    assert routine_name_for(None, Profile()) == ("full", None)
    assert routine_name_for("bedtime", Profile(back_pain=True)) == ("bedtime", None)
    # Another routine asked for with a sore back: micro-contractions and support.
    plan = session_plan("full", Profile(back_pain=True, position="sitting"))
    assert plan.routine.name == "full"
    assert all(s.planned_s <= 2 for s in plan.routine.steps if s.kind is StepKind.TENSE)
    assert plan.routine.setup.startswith("Sit reclined")
    assert "a supported position for your back" in plan.notes[-1]


def test_painful_regions_are_imagery_and_the_opening_names_position_and_eyes() -> None:
    plan = session_plan(None, FULL_PROFILE)
    assert plan.routine.name == "back-care"
    assert plan.imagery == frozenset({"lower-back"})
    assert "lower back by imagery only, because it hurts" in plan.notes
    assert plan.routine.setup == (
        "Lie on your back with a pillow under your knees. Close your eyes when you are ready."
        " Stop at any sharp pain."
    )
    assert plan.eyes == "closed"


def test_eyes_closed_turns_sound_on_unless_a_flag_says_otherwise() -> None:
    assert audio_mode_for("closed", None) == "on"
    assert audio_mode_for("closed", "off") == "off"
    assert audio_mode_for("open", None) is None
    assert audio_mode_for(None, "tones") == "tones"


def test_run_picks_sound_from_the_profile_eyes() -> None:
    assert audio_mode(None) is None
    save_profile(Profile(eyes="closed"))
    assert audio_mode(None) == "on"
    assert audio_mode("tones") == "tones"
    assert audio_mode(None, use_profile=False) is None


def test_the_controller_records_the_plan_first_and_runs_the_adapted_routine() -> None:
    plan = session_plan(None, FULL_PROFILE)
    controller = PacingController(
        plan.routine,
        yellow=load_protocol("breath-partial"),
        red=load_protocol("passive-rest"),
        imagery_regions=plan.imagery,
        plan=plan,
    )
    events = controller.start(0.0)
    first = events[0]
    assert isinstance(first, PlanChosen)
    assert first.notes == plan.notes
    assert first.start_region == "shoulders"
    assert first.gentle is True
    assert event_from_dict(first.to_dict()) == first
    assert events[1].type == "step_started"


def test_the_frame_names_its_parts() -> None:
    assert part_of(SETTLE) is Part.RECOGNISE
    assert part_of("feet-tense") is Part.REDUCE
    assert part_of("rest-held") is Part.REDUCE
    assert part_of(CLOSING_SCAN) is Part.RESTORE
    assert part_of(CLOSING_BREATH) is Part.RESTORE
    assert Part.RECOGNISE.meaning == "notice where you hold"


async def test_the_plan_with_its_health_details_never_goes_to_the_broker() -> None:
    from biofeedback.broker import MqttSettings, parse_url
    from biofeedback.models import Action, PlanChosen, UserActed
    from biofeedback.mqtt import MqttPublisher

    publisher = MqttPublisher(parse_url("mqtt://127.0.0.1:1/"), MqttSettings(runner="zoe"))
    await publisher.handle(PlanChosen(0.0, "full", ("lower back by imagery only",), back_pain=True))
    assert len(publisher.outbox) == 0
    # Everything else is still published.
    await publisher.handle(UserActed(1.0, Action.PAUSE))
    assert len(publisher.outbox) == 1
