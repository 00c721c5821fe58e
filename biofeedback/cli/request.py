"""The session a command asks for, as one typed value: what leaves the argument parser.

``SessionRequest`` is filled from `run`'s (or `resonance`'s) arguments in one
place, ``request_from_args``; past it nothing reads an argparse Namespace. The
practice and setup commands get theirs here too (``setup_request``,
``today_request``, ``plan_request``).
Every field has the default the command line has, so a test or a benchmark asks
for a session by naming only what it changes.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from biofeedback.models.record import record

if TYPE_CHECKING:
    from biofeedback.cli.command_requests import PlanRequest, SetupRequest, TodayRequest
    from biofeedback.pacing.resonance_plan import AssessmentPlan


# A record (models/record.py): dataclass compiles only its __init__ (a frozen
# dataclass's, storing each of the 29 fields through object.__setattr__, was ~0.3 ms
# more to make at every start); its guard, ==, hash and repr are shared code.
@record(frozen=True, slots=True)
class SessionRequest:
    """One session as asked for: its source, its routine, how it runs and where it goes."""

    # Where the heartbeats come from (at most one; none: the paired strap).
    sim: str | None = None  # a simulated person (a scenario name)
    seed: int | None = None  # the simulator's seed (None: the scenario's)
    device: str | None = None  # a strap by address or name
    replay: str | None = None  # an RR file, or STORE[#SESSION]
    replay_acc: str | None = None  # chest motion to replay beside it (t_s,x_mg,y_mg,z_mg CSV)
    source_url: str | None = None  # mqtt://HOST[:PORT]/TOPIC
    # The routine and how it is shaped.
    protocol: str | None = None  # None: the profile's choice, else "full"
    zone: str = "auto"  # start zone: auto, green, yellow or red
    sides: bool = False
    resonant: bool = False
    imagery: str = ""  # REGION[,REGION] done by imagery only
    start_region: str | None = None
    gentle: bool | None = None  # None: as the profile says
    use_profile: bool = True
    # Set by `biofeedback resonance`: the stepped assessment is the routine.
    assessment: AssessmentPlan | None = None
    # How it runs and where its events go.
    headless: bool = False
    json: bool = False
    speed: float | None = 1.0  # times real time; None: as fast as possible
    duration_s: float | None = None
    audio: str | None = None  # on, off, tones; None: the profile or [audio]
    audio_out: str | None = None  # a WAV file of the session's sound
    mqtt: str | None = None  # a broker to publish telemetry to
    mqtt_record: bool = False  # the whole record too, for a central copy (issue 27)
    db: str | None = None  # the session store (None: BIOFEEDBACK_DB or the default)
    keep_raw: bool = False  # the chest motion itself kept in the store too
    # False leaves the recorder out (no flag: every run is recorded; for tests and
    # benchmarks that read the events only).
    record: bool = True
    # The ratings before and after (practice sessions only).
    ratings: bool = True
    rate_before: str | None = None
    rate_after: str | None = None


def _session_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options `run` and `resonance` share (``parser._add_session_options``): a
    flag added there is read here, once, for both."""
    return {
        "sim": args.sim,
        "seed": args.seed,
        "device": args.device,
        "replay": args.replay,
        "replay_acc": args.replay_acc,
        "source_url": args.source,
        "headless": args.headless,
        "json": args.json,
        "speed": args.speed,
        "duration_s": args.duration,
        "audio": args.audio,
        "audio_out": args.audio_out,
        "mqtt": args.mqtt,
        "mqtt_record": args.mqtt_record,
        "db": args.db,
        "keep_raw": args.keep_raw,
    }


def request_from_args(args: argparse.Namespace) -> SessionRequest:
    """The request `run`'s parsed arguments make (the one reader of the Namespace)."""
    return SessionRequest(
        **_session_options(args),
        protocol=args.protocol,
        zone=args.zone,
        sides=args.sides,
        resonant=args.resonant,
        imagery=args.imagery,
        start_region=args.start_region,
        gentle=args.gentle,
        use_profile=not args.no_profile,
        ratings=not args.no_ratings,
        rate_before=args.rate_before,
        rate_after=args.rate_after,
    )


def assessment_request(args: argparse.Namespace) -> SessionRequest:
    """The request `resonance`'s arguments make: breathing only, at the rates asked
    for, with no routine, zone or body-region choices and no ratings."""
    from biofeedback.pacing.resonance_plan import AssessmentPlan, parse_rates

    return SessionRequest(
        **_session_options(args),
        protocol="resonance",
        assessment=AssessmentPlan(rates_bpm=parse_rates(args.rates), step_s=args.step),
        ratings=False,
    )


def setup_request(args: argparse.Namespace) -> SetupRequest:
    """What `setup`'s arguments ask for."""
    from biofeedback.cli.command_requests import SetupRequest

    return SetupRequest(
        position=args.position,
        eyes=args.eyes,
        painful=args.painful,
        tension_starts=args.tension_starts,
        gentle_joints=args.gentle_joints,
        back_pain=args.back_pain,
        show=args.show,
        json=args.json,
        reset=args.reset,
    )


def today_request(args: argparse.Namespace) -> TodayRequest:
    """What `today`'s arguments ask for."""
    from biofeedback.cli.command_requests import TodayRequest

    return TodayRequest(json=args.json, at=args.at, db=args.db)


def plan_request(args: argparse.Namespace) -> PlanRequest:
    """What `plan`'s arguments ask for."""
    from biofeedback.cli.command_requests import PlanRequest

    return PlanRequest(json=args.json, ics=args.ics, save=args.save)
