"""The built-in protocols say what docs/domain.md asks of them; bad files fail in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biofeedback.models import StepKind, Zone
from biofeedback.pacing.controller import planned_session_s
from biofeedback.routines.protocols import (
    BODY_ORDER,
    ZONE_KINDS,
    ProtocolError,
    Routine,
    builtin_names,
    check_regions,
    load_all,
    load_protocol,
)
from tests.support.cli import run_cli

REQUIRED = {
    "full": Zone.GREEN,
    "work-reset": Zone.GREEN,
    "anxiety-downshift": Zone.GREEN,
    "bedtime": Zone.GREEN,
    "back-care": Zone.GREEN,
    "breath-partial": Zone.YELLOW,
    "passive-rest": Zone.RED,
    "pelvic-release": Zone.YELLOW,
}


def minutes(protocol: Routine) -> float:
    return planned_session_s(protocol) / 60


def releases(protocol: Routine) -> list[float]:
    return [s.planned_s for s in protocol.steps if s.kind is StepKind.RELEASE]


def tense_groups(protocol: Routine) -> int:
    return sum(s.kind is StepKind.TENSE for s in protocol.steps)


def test_every_required_protocol_ships_in_its_zone() -> None:
    protocols = {p.name: p for p in load_all()}
    assert set(REQUIRED) <= set(protocols)
    assert set(builtin_names()) == set(protocols)
    for name, zone in REQUIRED.items():
        assert protocols[name].zone is zone, name


def test_every_step_is_allowed_in_its_protocols_zone() -> None:
    for protocol in load_all():
        kinds = {s.kind for s in protocol.steps}
        assert kinds <= ZONE_KINDS[protocol.zone], protocol.name
        assert set(protocol.regions) <= set(BODY_ORDER), protocol.name


def test_full_goes_feet_to_face_in_10_to_15_minutes_with_or_without_sides() -> None:
    full = load_protocol("full")
    sided = load_protocol("full", sides=True)
    assert full.regions[0] == "feet"
    assert full.regions[-1] in {"face", "jaw"}
    order = [BODY_ORDER.index(r) for r in full.regions]
    assert order == sorted(order), "feet upward"
    assert 10 <= minutes(full) <= 15
    assert 10 <= minutes(sided) <= 15
    assert sided.sides
    assert full.has_sides
    assert not full.sides
    left = [s for s in sided.steps if "-left-" in s.id]
    right = [s for s in sided.steps if "-right-" in s.id]
    assert left
    assert len(left) == len(right)
    assert all("left" in s.cue for s in left)
    assert all("right" in s.cue for s in right)
    assert tense_groups(sided) > tense_groups(full) >= 11


def test_work_reset_is_jaw_shoulders_hands_lower_back_in_about_five_minutes() -> None:
    reset = load_protocol("work-reset")
    assert set(reset.regions) == {"jaw", "shoulders", "hands", "lower-back"}
    assert 3 <= minutes(reset) <= 5.5
    # one calm breath between the groups
    kinds = [s.kind for s in reset.steps]
    assert kinds.count(StepKind.BREATH) >= 3


def test_anxiety_downshift_has_a_slow_breath_pause_after_every_release() -> None:
    protocol = load_protocol("anxiety-downshift")
    assert 9 <= minutes(protocol) <= 11.5
    steps = protocol.steps
    for i, step in enumerate(steps):
        if step.kind is StepKind.RELEASE:
            pause = steps[i + 1]
            assert pause.kind is StepKind.BREATH
            assert pause.breath_in_s is not None
            assert pause.breath_out_s is not None
            assert pause.breath_out_s > pause.breath_in_s


def test_bedtime_has_fewer_groups_and_longer_releases_than_full() -> None:
    bedtime, full = load_protocol("bedtime"), load_protocol("full")
    assert tense_groups(bedtime) < tense_groups(full)
    assert min(releases(bedtime)) > max(releases(full))


def test_back_care_uses_micro_contractions_starting_at_the_hips() -> None:
    protocol = load_protocol("back-care")
    assert protocol.effort == "micro"
    tenses = [s.planned_s for s in protocol.steps if s.kind is StepKind.TENSE]
    assert tenses
    assert all(1 <= t <= 2 for t in tenses)
    assert protocol.regions[:3] == ("hips", "glutes", "stomach")
    assert "pillow" in protocol.setup


def test_yellow_and_red_routines_never_tense() -> None:
    partial, rest = load_protocol("breath-partial"), load_protocol("passive-rest")
    assert {"jaw", "hands", "feet"} <= set(partial.regions)
    assert all(s.kind is not StepKind.TENSE for s in partial.steps + rest.steps)
    assert {s.kind for s in rest.steps} <= {StepKind.REST, StepKind.BREATH, StepKind.RELEASE}
    assert any("hum" in s.cue.lower() for s in rest.steps)


def test_pelvic_release_follows_the_self_massage_routine() -> None:
    protocol = load_protocol("pelvic-release")
    massage = [s for s in protocol.steps if s.kind is StepKind.MASSAGE]
    assert [s.region for s in massage] == [
        "lower-belly",
        "lower-belly",
        "hips",
        "inner-thighs",
        "hip-crease",
        "hip-crease",
        "lower-back",
    ]
    assert all(s.breath_out_s for s in massage), "breathe slowly throughout"
    assert "knees bent" in protocol.setup
    assert 5 <= protocol.duration_s / 60 <= 10


def test_cues_are_short_and_speak_to_you() -> None:
    for protocol in load_all():
        for step in protocol.steps:
            assert len(step.cue) <= 110, (protocol.name, step.id)
        cues = " ".join(s.cue.lower() for s in protocol.steps)
        assert "your" in cues, protocol.name


def test_unknown_protocol_names_the_choices() -> None:
    with pytest.raises(ProtocolError, match=r"choose one of: .*full"):
        load_protocol("nosuch")


def test_check_regions() -> None:
    assert check_regions(["lower-back", " neck", ""]) == {"lower-back", "neck"}
    with pytest.raises(ProtocolError, match="'knee'"):
        check_regions(["knee"])


HEADER = 'name = "x"\ntitle = "X"\nzone = "{zone}"\n'
GROUP = '[[steps]]\nregion = "feet"\ntense = "Curl."\nrelease = "Let go."\n'


@pytest.mark.parametrize(
    ("zone", "body", "words"),
    [
        ("yellow", GROUP, ["'feet-tense'", "yellow-zone", "tense"]),
        (
            "red",
            '[[steps]]\nid = "look"\nkind = "scan"\ncue = "Scan."\ns = 20\n',
            ["'look'", "red-zone", "scan"],
        ),
        (
            "green",
            '[[steps]]\nid = "t"\nkind = "tense"\nregion = "feet"\ncue = "Curl."\ns = 5\n',
            ["'t'", "followed", "release"],
        ),
        ("green", GROUP.replace('"Curl."', '"Curl."\ntense_s = 15'), ["'feet-tense'", "10 s"]),
        ("green", GROUP.replace('"Let go."', '"Let go."\nrelease_s = 4'), ["'feet-release'"]),
        ("green", GROUP.replace('"feet"', '"knees"'), ["'knees'", "unknown region"]),
        ("green", GROUP + 'colour = "red"\n', ["step 1", "colour"]),
        (
            "green",
            '[[steps]]\nid = "b"\nkind = "breath"\ncue = "In."\ns = 20\n'
            "breath_in_s = 6\nbreath_out_s = 3\n",
            ["'b'", "breathe out"],
        ),
        ("green", GROUP + GROUP, ["unique", "feet-tense"]),
        (
            "yellow",
            '[[steps]]\nid = "m"\nkind = "massage"\ncue = "Rub."\ns = 20\n',
            ["'m'", "region"],
        ),
        (
            "green",
            GROUP.replace('"Let go."', '"Let go."\nsides = true\ntense_side = "x"'),
            ["{side}"],
        ),
        ("purple", GROUP, ["header", "purple"]),
        ("green", '[[steps]]\nid = "r"\nkind = "rest"\ncue = "Rest."\ns = -3\n', ["'r'", "'s'"]),
        ("green", "", ["steps", "at least one"]),
    ],
)
def test_bad_protocol_gives_one_line_naming_file_step_and_fault(
    tmp_path: Path, zone: str, body: str, words: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(HEADER.format(zone=zone) + body)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message


def test_micro_effort_caps_tense_at_two_seconds(tmp_path: Path) -> None:
    path = tmp_path / "micro.toml"
    path.write_text(
        HEADER.format(zone="green")
        + 'effort = "micro"\n'
        + GROUP.replace('"Curl."', '"Curl."\ntense_s = 3')
    )
    with pytest.raises(ProtocolError, match="micro tense lasts at most 2 s"):
        load_protocol(str(path))


def test_header_mistakes_are_caught(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text(HEADER.format(zone="green") + 'closing_word = "let go"\n' + GROUP)
    with pytest.raises(ProtocolError, match="one word"):
        load_protocol(str(path))
    path.write_text(HEADER.format(zone="green") + "zome = 1\n" + GROUP)
    with pytest.raises(ProtocolError, match="header: unknown keys \\['zome'\\]"):
        load_protocol(str(path))
    path.write_text("name = [")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(str(path))


def test_protocols_command_lists_duration_and_zone() -> None:
    rows = [json.loads(line) for line in run_cli("protocols", "--json").stdout.splitlines()]
    by_name = {r["name"]: r for r in rows}
    assert set(REQUIRED) <= set(by_name)
    for name, zone in REQUIRED.items():
        assert by_name[name]["zone"] == zone.value
    assert 600 <= by_name["full"]["duration_s"] <= 900
    assert by_name["full"]["duration_s"] > by_name["full"]["steps_s"]
    assert by_name["full"]["sides"] is True
    text = run_cli("protocols")
    assert text.returncode == 0
    lines = {line.split()[0]: line for line in text.stdout.splitlines()}
    assert "green" in lines["full"]
    assert "min" in lines["full"]
    assert "--sides" in lines["full"]
    assert "red" in lines["passive-rest"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--protocol", "work-reset", "--sides"), ["work-reset", "side"]),
        (("--imagery", "lower-back,knee"), ["'knee'", "lower-back"]),
    ],
)
def test_run_protocol_mistakes_are_one_line(args: tuple[str, ...], words: list[str]) -> None:
    proc = run_cli("run", "--sim", "--headless", "--speed", "max", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


def test_run_with_protocol_sides_and_imagery() -> None:
    proc = run_cli(
        "run", "--sim", "--headless", "--json", "--speed", "max", "--sides",
        "--imagery", "hands", "--zone", "green", "--duration", "400",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    started = [e for e in events if e["type"] == "step_started"]
    ids = [e["step"] for e in started]
    assert "feet-left-tense" in ids
    assert "feet-right-tense" in ids
    hands = [e for e in started if e["region"] == "hands"]
    assert hands
    assert all(e["kind"] != "tense" for e in hands)
    assert any(e["kind"] == "imagery" for e in hands)
