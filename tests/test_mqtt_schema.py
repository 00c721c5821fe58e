"""The pure parts of MQTT telemetry: URLs, settings, runner ids, the outbox, the state fold."""

from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.broker import (
    MqttConfigError,
    RunnerIdError,
    load_settings,
    parse_url,
    validate_runner_id,
)
from biofeedback.models import (
    Action,
    Estimate,
    Quality,
    SessionEnded,
    StepExtended,
    StepKind,
    StepStarted,
    UserActed,
    Zone,
    ZoneChanged,
)
from biofeedback.mqtt import Outbox, Outgoing
from biofeedback.telemetry import (
    Board,
    BrokerLink,
    EventHeard,
    RunnerState,
    RunnerTracker,
    StateHeard,
    StatusHeard,
    parse_update,
)


def test_urls() -> None:
    url = parse_url("mqtts://nurse@broker.example:8884")
    assert (url.host, url.port, url.tls, url.username, url.topic) == (
        "broker.example",
        8884,
        True,
        "nurse",
        None,
    )
    assert parse_url("mqtt://10.0.0.2").port == 1883
    assert parse_url("mqtts://h").port == 8883
    assert parse_url("mqtt://h/straps/one", topic=True).topic == "straps/one"
    with pytest.raises(MqttConfigError, match="topic"):
        parse_url("mqtt://h", topic=True)
    with pytest.raises(MqttConfigError, match=r"\+ or #"):
        parse_url("mqtt://h/straps/+", topic=True)
    with pytest.raises(MqttConfigError) as err:
        parse_url("mqtt://me:pw123@h")
    assert "pw123" not in str(err.value)
    # Broken URLs are echoed back, but never with what could be a password.
    for broken, secret in [("mqtt://me:p/w1@h", "p/w1"), ("mqtt://me:p@ss@h:x", "ss@")]:
        with pytest.raises(MqttConfigError) as err:
            parse_url(broken)
        assert secret not in str(err.value)


@pytest.mark.parametrize("runner", ["", "a/b", "a+b", "a#", "a b", "x" * 65, "tab\t"])
def test_runner_ids_that_cannot_be_a_topic_level(runner: str) -> None:
    with pytest.raises(RunnerIdError):
        validate_runner_id(runner)


def test_settings_from_config_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[mqtt]\nrunner = "ward-3"\nusername = "nurse"\npassword = "from-file"\ndiscovery = true\n'
    )
    settings = load_settings({"BIOFEEDBACK_MQTT_PASSWORD": "from-env"}, config)
    assert settings.runner == "ward-3"
    assert settings.username == "nurse"
    assert settings.password == "from-env"
    assert settings.discovery is True
    assert "from-env" not in repr(settings)
    with pytest.raises(RunnerIdError):
        load_settings({"BIOFEEDBACK_MQTT_RUNNER": "a/b"}, config)
    config.write_text("[mqtt]\nrunnr = 'typo'\n")
    with pytest.raises(MqttConfigError, match="runnr"):
        load_settings({}, config)
    assert load_settings({}, tmp_path / "missing.toml").runner  # a default from the host


def msg(name: str) -> Outgoing:
    return Outgoing(name, name.encode(), 1, False)


def test_outbox_keeps_events_first_and_drops_stale_state_first() -> None:
    box = Outbox(capacity=3)
    box.put_state(msg("s1"))
    for name in ("e1", "e2", "e3"):
        box.put_event(msg(name))
    box.put_state(msg("s2"))
    assert (box.dropped_states, box.dropped_events) == (1, 0)
    box.put_event(msg("e4"))
    assert box.dropped_events == 1
    events, state = box.take(2)
    assert [m.topic for m in events] == ["e2", "e3"]
    assert state is None
    box.give_back(events, None)
    events, state = box.take(10)
    assert [m.topic for m in events] == ["e2", "e3", "e4"]
    assert state is not None
    assert state.topic == "s2"
    box.put_state(msg("s3"))
    box.give_back([], state)  # the newer s3 wins over the s2 that failed
    assert box.dropped_states == 2
    box.abandon()
    assert len(box) == 0
    assert box.dropped_states == 3


def test_tracker_counts_down_the_step_through_extensions_and_pauses() -> None:
    tracker = RunnerTracker()
    tracker.apply(StepStarted(10.0, "hands-release", StepKind.RELEASE, "hands", "Let go.", 15.0))
    assert tracker.apply(Estimate(12.0, 70.0, 40.0, 1.2, Quality.OK, 0.0)).step_left_s == 13.0
    tracker.apply(StepExtended(25.0, "hands-release", 5.0, "not settled yet"))
    tracker.apply(UserActed(26.0, Action.PAUSE))
    paused = tracker.apply(Estimate(36.0, 70.0, 40.0, 1.2, Quality.OK, 0.0))
    assert (paused.paused, paused.step_left_s) == (True, 4.0)
    tracker.apply(UserActed(40.0, Action.RESUME))
    state = tracker.apply(Estimate(41.0, 66.0, 42.0, 0.8, Quality.OK, 0.0))
    assert (state.paused, state.step_left_s, state.hr_bpm) == (False, 3.0, 66.0)
    assert state.decision is not None
    assert "not settled yet" in state.decision
    tracker.apply(ZoneChanged(42.0, Zone.GREEN, Zone.YELLOW, "arousal +2.1 for 10 s"))
    end = tracker.apply(SessionEnded(50.0, "s", "completed", 50.0))
    assert (end.ended, end.zone, end.step, end.step_left_s) == (True, "yellow", None, None)
    assert RunnerState.from_dict(end.to_dict()) == end


def test_watcher_side_parses_and_folds_messages() -> None:
    assert parse_update("biofeedback/ana/status", b"online") == StatusHeard("ana", True)
    assert parse_update("biofeedback/ana/status", b"maybe") is None
    assert parse_update("elsewhere/ana/status", b"online") is None
    assert parse_update("biofeedback/ana/state", b"[1]") is None
    state = parse_update("biofeedback/ana/state", b'{"hr_bpm": "fast", "zone": "red", "t": 3}')
    assert state == StateHeard("ana", RunnerState(t=3.0, zone="red"))
    board = Board()
    board.apply(StatusHeard("ana", True))
    board.apply(EventHeard("ana", {"type": "user_action", "action": "hurts", "t": 4}))
    row = board.apply(EventHeard("ana", {"type": "session_ended", "reason": "completed"}))
    assert row is not None
    assert (row.status, row.decision) == ("ended", "session_ended: completed")
    row = board.apply(StatusHeard("ana", False))
    assert row is not None
    assert row.status == "ended"
    board.apply(StatusHeard("bo", True))
    # Without the broker, nobody's status is known (a finished session stays finished).
    assert board.apply(BrokerLink(False, "gone")) is None
    assert {n: r.status for n, r in board.rows.items()} == {"ana": "ended", "bo": "unknown"}


def test_settings_share_the_user_config_file_with_pairing() -> None:
    from biofeedback import config

    path = config.config_path()  # in this test's private XDG dirs
    path.parent.mkdir(parents=True)
    path.write_text('[device]\naddress = "AA:BB:CC:DD:EE:FF"\n\n[mqtt]\nrunner = "bed-4"\n')
    assert load_settings({}).runner == "bed-4"
    assert config.load().device is not None
