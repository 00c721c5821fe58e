"""Fuzzing every parser that takes outside input: no exception but the package's own.

The MQTT payload decoder answers a sample or None; protocol, scenario and
config parsing answer a result or their own error (a ``BiofeedbackError``,
which the CLI prints as one line).
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback import BiofeedbackError, config
from biofeedback.broker import load_settings
from biofeedback.models import HeartSample
from biofeedback.routines.protocols import load_protocol_file, parse_protocol
from biofeedback.sensors.limits import implausible
from biofeedback.sensors.payload import decode_heart_payload
from simulators.scenario import ScenarioError, load_scenario

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 2, 10, 3600, 3601]),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


heart_json = st.fixed_dictionaries(
    {},
    optional={
        "hr": json_values,
        "hr_bpm": json_values,
        "rr_ms": st.lists(json_scalars, max_size=60) | json_values,
        "contact": json_values,
    },
).map(_json_bytes)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=600),
        heart_json,
        json_values.map(_json_bytes),
        st.integers(1, 3000).map(lambda depth: b'{"a":' + b"[" * depth + b"]" * depth + b"}"),
    ),
    st.floats(0, 1e6),
)
def test_the_mqtt_payload_decoder_answers_a_sample_or_none(payload: bytes, t_s: float) -> None:
    sample = decode_heart_payload(payload, t_s)
    assert sample is None or isinstance(sample, HeartSample)
    if sample is not None:
        # Whatever got through is checked at the session's boundary; that never raises.
        implausible(sample)
        assert all(math.isfinite(rr) for rr in sample.rr_ms)


# -- TOML files, written from dicts so the fuzz reaches past the TOML parser


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_text(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items())


toml_scalars = st.one_of(
    st.booleans(),
    numbers.filter(lambda n: not isinstance(n, int) or abs(n) < 2**63),
    st.text(max_size=10),
)


def toml_tables(keys: list[str], words: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    scalar = toml_scalars | st.sampled_from(words)
    value = st.recursive(
        scalar,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(keys) | st.text(max_size=5), inner, max_size=6)
        ),
        max_leaves=25,
    )
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=5), value, max_size=8)


PROTOCOL_KEYS = [
    "name", "title", "zone", "description", "setup", "closing_word", "effort", "defaults",
    "steps", "id", "kind", "cue", "s", "region", "breath_in_s", "breath_out_s", "tense",
    "release", "tense_s", "release_s", "pause", "pause_s", "sides", "tense_side", "release_side",
]  # fmt: skip
PROTOCOL_WORDS = [
    "green", "yellow", "red", "mild", "micro", "tense", "release", "breath", "rest", "hands",
    "feet", "Soften", "{side} hand",
]  # fmt: skip

step = st.fixed_dictionaries(
    {},
    optional={
        k: (toml_scalars | st.sampled_from(PROTOCOL_WORDS))
        for k in ("id", "kind", "cue", "s", "region", "breath_in_s", "breath_out_s", "tense",
                  "release", "tense_s", "release_s", "pause", "pause_s", "sides")
    },
)  # fmt: skip
protocols = st.fixed_dictionaries(
    {"name": st.just("fz"), "title": st.just("Fuzz"), "zone": st.sampled_from(PROTOCOL_WORDS)},
    optional={
        "steps": st.lists(step, max_size=6),
        "effort": st.sampled_from(PROTOCOL_WORDS),
        "defaults": toml_tables(PROTOCOL_KEYS, PROTOCOL_WORDS),
    },
) | toml_tables(PROTOCOL_KEYS, PROTOCOL_WORDS)


@FUZZ
@given(protocols)
def test_protocol_parsing_raises_only_its_own_errors(data: dict[str, Any]) -> None:
    try:
        protocol = parse_protocol(data, "fuzz")
    except BiofeedbackError:
        return
    for s in protocol.steps:
        assert math.isfinite(s.planned_s)
        assert s.planned_s > 0


@FUZZ
@given(protocols)
def test_protocol_files_raise_only_their_own_errors(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    with pytest.raises(BiofeedbackError) if "steps" not in data else _maybe_raises():
        load_protocol_file(path)


class _maybe_raises:
    """Lets a result through, and only the package's errors."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> bool:
        return kind is not None and issubclass(kind, BiofeedbackError)


SCENARIO_KEYS = [
    "name", "description", "seed", "hrv_usable", "person", "recovery_tau_s", "artifacts",
    "episodes", "dropouts", "contact_losses", "rest_hr_bpm", "relax_hr_drop_bpm", "relax_tau_s",
    "breath_rate_hz", "rsa_ms", "onset_s", "hold_s", "hr_rise_bpm", "rmssd_factor", "start_s",
    "duration_s", "missed", "extra", "ectopic", "rest", "tense", "idle",
]  # fmt: skip


@FUZZ
@given(toml_tables(SCENARIO_KEYS, ["x", "calm"]))
def test_scenario_files_raise_only_their_own_errors(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(toml_text({"name": "fz", **data}), encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return
    assert scenario.person.rest_hr_bpm > 0
    assert all(v > 0 for v in scenario.recovery_tau_s.values())


CONFIG_KEYS = [
    "device", "dashboard", "mqtt", "address", "name", "reduced_motion", "keys", "runner",
    "username", "password", "discovery", "discovery_prefix", "expire_after_s", "ca_file",
    "session.skip",
]  # fmt: skip


@FUZZ
@given(toml_tables(CONFIG_KEYS, ["AA:BB:CC:DD:EE:FF", "q", "ana"]))
def test_config_files_raise_only_their_own_errors(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    with contextlib.suppress(BiofeedbackError):
        config.load(path)
    with contextlib.suppress(BiofeedbackError):
        load_settings(env={}, path=path)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode()))
def test_any_bytes_as_a_toml_file_raise_only_our_errors(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "any.toml"
    path.write_bytes(raw)
    for parse in (load_protocol_file, load_scenario, config.load):
        with contextlib.suppress(BiofeedbackError, ScenarioError):
            parse(path)
