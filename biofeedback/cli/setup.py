"""`biofeedback setup` and the profile side of `run`: the command-line shell around
``routines/profile.py`` (what the profile is) and ``routines/personalise.py`` (what it
does to a routine). ``biofeedback.cli`` calls these handlers; their flags are in
``cli/parser.py``, so that building the parser does not load this module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from biofeedback import config
from biofeedback.routines.personalise import (
    DEFAULT_ROUTINE,
    PersonalPlan,
    audio_mode_for,
    personalise,
    routine_name_for,
)
from biofeedback.routines.profile import (
    Profile,
    ProfileError,
    check_region,
    check_regions,
    profile_from_table,
    split_regions,
)
from biofeedback.routines.protocols import load_protocol

if TYPE_CHECKING:
    from biofeedback.cli.command_requests import SetupRequest

TABLE = "profile"
NONE = "none"


def load_profile(path: Path | None = None) -> Profile:
    """The stored profile; an empty one when there is none yet."""
    path = path or config.config_path()
    table = config.load_table(TABLE, path)
    return Profile() if table is None else profile_from_table(table, str(path))


def save_profile(profile: Profile, path: Path | None = None) -> Path:
    """Store ``profile`` as the ``[profile]`` table (an empty one removes it)."""
    return config.save_table(TABLE, profile.to_table(), path, by="biofeedback setup")


# --------------------------------------------------------------------------
# setup


def _edits(request: SetupRequest) -> dict[str, object]:
    """The fields the flags set (only those given)."""
    edits: dict[str, object] = {}
    if request.position is not None:
        edits["position"] = request.position
    if request.eyes is not None:
        edits["eyes"] = request.eyes
    if request.painful is not None:
        regions = [] if request.painful.strip() == NONE else split_regions(request.painful)
        edits["painful"] = check_regions(regions, "--painful")
    if request.tension_starts is not None:
        value = request.tension_starts.strip()
        edits["tension_starts"] = None if value == NONE else check_region(value, "--tension-starts")
    if request.gentle_joints is not None:
        edits["gentle_joints"] = request.gentle_joints
    if request.back_pain is not None:
        edits["back_pain"] = request.back_pain
    return edits


def cmd_setup(request: SetupRequest, *, on_terminal: bool | None = None) -> int:
    edits = _edits(request)
    if request.json and not request.show:
        raise ProfileError("--json goes with --show: biofeedback setup --show --json")
    if request.reset and (edits or request.show):
        raise ProfileError("--reset forgets the whole profile; give it alone")
    path = config.config_path()
    if request.reset:
        save_profile(Profile(), path)
        print("profile forgotten; sessions use each routine as written")
        return 0
    profile = load_profile(path)
    if edits:
        import dataclasses

        profile = dataclasses.replace(profile, **edits)  # type: ignore[arg-type]
        save_profile(profile, path)
        print(f"saved your profile in {path}", file=sys.stderr)
    elif not request.show:
        terminal = (
            sys.stdin.isatty() and sys.stdout.isatty() if on_terminal is None else on_terminal
        )
        if terminal:
            chosen = _ask(profile)
            if chosen is None:
                print("nothing changed", file=sys.stderr)
                return 0
            profile = chosen
            save_profile(profile, path)
            print(f"saved your profile in {path}", file=sys.stderr)
    if request.json:
        print(json.dumps(profile.to_dict()))
    else:
        print(format_profile(profile))
    return 0


def _ask(profile: Profile) -> Profile | None:
    """The setup screen; the profile the person saved, or None when they cancelled."""
    from biofeedback.ui.setup import create_setup_app

    saved = config.load().dashboard
    app = create_setup_app(profile, reduced_motion=saved.reduced_motion, keymap=dict(saved.keys))
    app.run()
    if app.error is not None:
        raise app.error
    return app.chosen


def format_profile(profile: Profile) -> str:
    """The profile in words, and what it does to a session of the default routine."""
    if profile.empty:
        return "no profile yet: routines run as written (set one with `biofeedback setup`)"

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    rows = [
        ("position", profile.position or "-"),
        ("eyes", profile.eyes or "-"),
        ("painful", ", ".join(profile.painful) or "-"),
        ("tension starts", profile.tension_starts or "-"),
        ("gentle joints", yes(profile.gentle_joints)),
        ("back pain", yes(profile.back_pain)),
    ]
    lines = [f"{name:<15} {value}" for name, value in rows]
    plan = session_plan(None, profile)
    if plan.notes:
        lines.append(f"`biofeedback run` will do {plan.routine.name}:")
        lines += [f"  - {note}" for note in plan.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# run


def session_plan(
    requested: str | None,
    profile: Profile,
    *,
    sides: bool = False,
    imagery: str = "",
    start_region: str | None = None,
    gentle: bool | None = None,
) -> PersonalPlan:
    """The routine this session runs, adapted to the profile and the flags."""
    profile = profile.overridden(
        imagery=split_regions(imagery), start_region=start_region, gentle=gentle
    )
    name, note = routine_name_for(requested, profile)
    routine = load_protocol(name, sides=sides)
    return personalise(routine, profile, chosen_note=note)


def run_plan(
    requested: str | None,
    *,
    use_profile: bool = True,
    sides: bool = False,
    imagery: str = "",
    start_region: str | None = None,
    gentle: bool | None = None,
) -> PersonalPlan:
    """``session_plan`` for `run`, with the stored profile unless ``use_profile`` is
    False (--no-profile)."""
    profile = load_profile() if use_profile else Profile()
    return session_plan(
        requested,
        profile,
        sides=sides,
        imagery=imagery,
        start_region=start_region,
        gentle=gentle,
    )


def audio_mode(flag: str | None, *, use_profile: bool = True) -> str | None:
    """The sound mode for `run`: ``flag`` (--audio) when given, else "on" when the
    profile says eyes closed (the guidance must be heard), else None (``[audio]``
    decides)."""
    eyes = load_profile().eyes if use_profile else None
    return audio_mode_for(eyes, flag)


__all__ = [
    "DEFAULT_ROUTINE",
    "audio_mode",
    "cmd_setup",
    "load_profile",
    "run_plan",
    "save_profile",
    "session_plan",
]
