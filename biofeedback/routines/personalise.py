"""What a practice profile does to a routine (docs/domain.md section 1, back-pain adaptation).

Pure: a ``Routine`` and a ``Profile`` in, the adapted routine and one short
note per change out, so the session's record can say what the profile
changed and why. The controller then runs the adapted routine as any other.

- active back pain: the back-care routine when none was chosen, micro-
  contractions when another was, and a supported position cue;
- sensitive or hypermobile joints: micro-contractions of at most 2 s with a
  softer cue (releases keep their length: the release is the point);
- painful regions: done by imagery only (the planner words their cues);
- where tension starts: the routine starts with that region's group, the
  protocol's order otherwise kept;
- position and eyes: the opening's setup cue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from biofeedback.models import PlanChosen, Step, StepKind
from biofeedback.models.record import record
from biofeedback.routines.profile import Profile
from biofeedback.routines.protocols import MAX_TENSE_S, Routine
from biofeedback.routines.texts import region_words

BACK_CARE = "back-care"
DEFAULT_ROUTINE = "full"
MICRO = "micro"

_POSITION_CUES = {
    "sitting": "Sit back in a chair that holds you, feet flat, hands resting.",
    "lying": "Lie on your back with a pillow under your head.",
    "side-lying": "Lie on your side with a pillow between your knees.",
    "reclined": "Recline with your head and lower back supported.",
}
# A sore back wants support under it (docs/domain.md: reclined, pillow under the knees).
_SUPPORTED_CUES = {
    "sitting": "Sit reclined if you can, a cushion behind your lower back, feet flat.",
    "lying": "Lie on your back with a pillow under your knees.",
    "side-lying": "Lie on your side with a pillow between your knees.",
    "reclined": "Recline with a cushion at your lower back and your knees supported.",
    None: "Find a supported position: reclined, or lying with a pillow under your knees.",
}
_EYES_CUES = {
    "closed": "Close your eyes when you are ready.",
    "open": "Let your eyes rest softly on one spot.",
}
GENTLE_PREFIX = "Just a trace of effort, no strain:"


@record(frozen=True, slots=True)
class PersonalPlan:
    """A routine as this person will do it, and what the profile changed.

    ``imagery`` holds every region done by imagery only (the planner's input);
    ``eyes`` is carried for the sound default (eyes closed: guidance heard).
    """

    routine: Routine
    profile: Profile
    imagery: frozenset[str]
    notes: tuple[str, ...]

    @property
    def eyes(self) -> str | None:
        return self.profile.eyes


def routine_name_for(requested: str | None, profile: Profile) -> tuple[str, str | None]:
    """The routine to load: the one asked for, else back-care for an active back,
    else the default; with a note when the profile chose it."""
    if requested is not None:
        return requested, None
    if profile.back_pain:
        return BACK_CARE, "back-care routine, because your back is sore right now"
    return DEFAULT_ROUTINE, None


def audio_mode_for(eyes: str | None, requested: str | None) -> str | None:
    """The sound mode for a session: a flag wins; eyes closed means guidance
    must be heard, so sound on; otherwise None (the ``[audio]`` setting decides)."""
    if requested is not None:
        return requested
    return "on" if eyes == "closed" else None


def personalise(
    routine: Routine, profile: Profile, *, chosen_note: str | None = None
) -> PersonalPlan:
    """``routine`` adapted to ``profile``, with one note per change."""
    notes: list[str] = [chosen_note] if chosen_note else []
    steps = list(routine.steps)
    effort = routine.effort
    if (profile.gentle_joints or profile.back_pain) and effort != MICRO:
        softened = _micro(steps)
        if softened != steps:
            steps, effort = softened, MICRO
            why = "sensitive joints" if profile.gentle_joints else "a sore back"
            notes.append(
                f"micro-contractions of {MAX_TENSE_S[MICRO]:g} s with softer cues, for {why}"
            )
    if profile.tension_starts is not None:
        steps, note = _start_at(steps, profile.tension_starts)
        notes.append(note)
    regions = {s.region for s in steps if s.region}
    painful = [r for r in profile.painful if r in regions]
    if painful:
        words = ", ".join(region_words(r) for r in painful)
        notes.append(f"{words} by imagery only, because it hurts")
    setup = routine.setup
    if not any(s.kind is StepKind.MASSAGE for s in steps):  # a massage needs its own position
        setup, setup_note = _setup(routine.setup, profile)
        if setup_note:
            notes.append(setup_note)
    adapted = dataclasses.replace(routine, steps=tuple(steps), effort=effort, setup=setup)
    return PersonalPlan(adapted, profile, frozenset(profile.painful), tuple(notes))


def _micro(steps: list[Step]) -> list[Step]:
    limit = MAX_TENSE_S[MICRO]
    out = []
    for step in steps:
        if step.kind is StepKind.TENSE:
            step = dataclasses.replace(
                step, planned_s=min(step.planned_s, limit), cue=gentle_cue(step.cue)
            )
        out.append(step)
    return out


def gentle_cue(cue: str) -> str:
    """A tense cue asking for the least effort that can be felt."""
    if cue.startswith(GENTLE_PREFIX):
        return cue
    first = cue[:1].lower() if not cue.startswith("I ") else cue[:1]
    return f"{GENTLE_PREFIX} {first}{cue[1:]}"


def _blocks(steps: Iterable[Step]) -> tuple[list[Step], list[tuple[str, list[Step]]]]:
    """Leading region-less steps, then region groups (a group keeps the
    region-less steps that follow it, e.g. its settling breath)."""
    lead: list[Step] = []
    groups: list[tuple[str, list[Step]]] = []
    for step in steps:
        if step.region is not None and (not groups or groups[-1][0] != step.region):
            groups.append((step.region, [step]))
        elif groups:
            groups[-1][1].append(step)
        else:
            lead.append(step)
    return lead, groups


def _start_at(steps: list[Step], region: str) -> tuple[list[Step], str]:
    lead, groups = _blocks(steps)
    words = region_words(region)
    first = [g for g in groups if g[0] == region]
    if not first:
        return steps, f"this routine has no {words} work, so it keeps its own order"
    if groups[0][0] == region:
        return steps, f"starts at your {words}, where your tension starts"
    rest = [g for g in groups if g[0] != region]
    ordered = lead + [s for _, group in first + rest for s in group]
    return ordered, f"starts at your {words}, where your tension starts; then its usual order"


def _setup(setup: str, profile: Profile) -> tuple[str, str | None]:
    parts: list[str] = []
    said: list[str] = []
    if profile.back_pain:
        parts.append(_SUPPORTED_CUES[profile.position])
        said.append("a supported position for your back")
    elif profile.position is not None:
        parts.append(_POSITION_CUES[profile.position])
        said.append(f"{profile.position.replace('-', ' ')} position")
    if profile.eyes is not None:
        parts.append(_EYES_CUES[profile.eyes])
        said.append(f"eyes {profile.eyes}")
    if not parts:
        return setup, None
    if "pain" in setup.lower():
        # Keep the routine's own safety line (e.g. "Stop at any sharp pain.").
        parts += [s.strip() + "." for s in setup.split(".") if "pain" in s.lower()]
    return " ".join(parts), "opening cue: " + ", ".join(said)


def plan_event(now_s: float, plan: PersonalPlan) -> PlanChosen:
    """The record of what shaped the plan, as the session's first decision."""
    p = plan.profile
    return PlanChosen(
        now_s,
        plan.routine.name,
        plan.notes,
        imagery=tuple(sorted(plan.imagery)),
        start_region=p.tension_starts,
        gentle=plan.routine.effort == MICRO,
        back_pain=p.back_pain,
        position=p.position,
        eyes=p.eyes,
    )
