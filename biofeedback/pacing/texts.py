"""Every sentence the pacing says to a person, as data.

The controller builds its cues, advice and plain-language decision sentences
from here, and the dashboard's help screen takes its safety text from the same
words, so a change of wording is made once. Figures for the record live in the
events' ``reason``; these are for a person to hear or read: short, warm,
second person.
"""

from __future__ import annotations

from biofeedback.models import StepKind, Zone

# --------------------------------------------------------------------------
# Safety: the stop rules (during a step) and the red flags (see a clinician).

STOP_RULES = (
    "Stop and rest. Sharp pain, pain that spreads, numbness, dizziness or"
    " shortness of breath all mean: no more effort now."
)
RED_FLAGS = (
    "Please get medical help for back pain that is severe, lasting or spreading,"
    " for numbness or weakness, fever, or loss of bladder or bowel control,"
    " and for panic or sleeplessness that keeps coming back."
)

# The help screen's longer form of the same rules (Rich markup; ``{hurts}`` is
# the key that stops a step because it hurts).
HELP_STOP_RULES = (
    "[b]Stop a step at once[/b] if you feel sharp or spreading pain, numbness,\n"
    "dizziness or shortness of breath. Press [b]{hurts}[/b]: that part of the body\n"
    "moves to imagery only, and the session goes on gently."
)
HELP_RED_FLAGS_INTRO = "[b]Please seek medical help[/b], and do not use this program instead, for:"
HELP_RED_FLAG_ITEMS = (
    "severe, persistent or spreading back pain",
    "numbness or weakness",
    "fever",
    "loss of bladder or bowel control",
    "panic attacks or sleep loss that keep coming back",
)
HELP_ZONES = (
    "[b]Zones[/b]: ● GREEN full tense-and-release practice · ▲ YELLOW gentle,\n"
    "breath-led work · ■ RED rest only, no tensing. The session steps down when\n"
    "your body is working hard, and back up once you have settled for a while."
)
NOT_A_DEVICE = "This is a wellness aid, not a medical device or a treatment."


def help_safety_text(hurts_key: str) -> str:
    """The help screen's safety section, with the key that stops a step."""
    items = "\n".join(f"  • {item}" for item in HELP_RED_FLAG_ITEMS)
    return "\n\n".join(
        (
            HELP_STOP_RULES.format(hurts=hurts_key),
            f"{HELP_RED_FLAGS_INTRO}\n{items}",
            HELP_ZONES,
            NOT_A_DEVICE,
        )
    )


# --------------------------------------------------------------------------
# Cues of the session frame.

IDLE_PACER = "Breathe easily, at your own pace."


def settle_cue(breath_in_s: float, breath_out_s: float, setup: str = "") -> str:
    # The opening is Recognise (DOMAIN.md section 2): noticing where you brace.
    cue = (
        "Settle in, and notice where you hold."
        f" Breathe in for {count(breath_in_s)}, and out slowly for {count(breath_out_s)}."
    )
    return f"{setup} {cue}" if setup else cue


CLOSING_REST_CUE = "Feel the support under you and the room around you. Take your time."
CLOSING_SCAN_CUE = "Scan slowly from your head down to your toes. Let anything still held go."


def closing_breath_cue(closing_word: str) -> str:
    return f"One last slow breath in, and a long breath out. {closing_word.capitalize()}."


def imagery_cue(kind: StepKind, region: str | None) -> str | None:
    """The cue for a step done by imagery, or None when the step needs no change."""
    words = region_words(region)
    if kind is StepKind.TENSE:
        return f"No need to move. Picture your {words} tightening a little, then letting go."
    if kind is StepKind.MASSAGE:
        return f"Leave your {words} untouched. Just picture warmth there, easing."
    return None


def imagery_from_now(region: str) -> str:
    return (
        f"From now on your {region_words(region)} are done by imagery only: no need to move them."
    )


# --------------------------------------------------------------------------
# Advice at decisions.

ZONE_ADVICE = {
    (Zone.GREEN, Zone.YELLOW): "Let's go gentler: no tensing for now. Just breathe and soften.",
    (Zone.YELLOW, Zone.RED): "Time to simply rest. There is nothing you need to do.",
    (Zone.RED, Zone.YELLOW): "You have settled a lot. Let's add some gentle softening.",
    (Zone.YELLOW, Zone.GREEN): "You are settled again. Let's carry on where we left off.",
}
OVERRUN_ADVICE = "We have run past the planned time, so let's close gently now."


# --------------------------------------------------------------------------
# Small words.


def region_words(region: str | None) -> str:
    return (region or "body").replace("-", " ")


_COUNTS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count(seconds: float) -> str:
    """A whole number of seconds as a word, for counting breaths aloud."""
    if seconds == int(seconds) and 0 <= seconds < len(_COUNTS):
        return _COUNTS[int(seconds)]
    return f"{seconds:g}"
