"""Every sentence the pacing says to a person, as data.

The controller builds its cues, advice and plain-language decision sentences
from here, and the dashboard's help screen takes its safety text from the same
words, so a change of wording is made once. Figures for the record live in the
events' ``reason``; these are for a person to hear or read: short, warm,
second person.
"""

from __future__ import annotations

import math

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

# The help screen's form of the same rules (Rich markup; ``{hurts}`` is the key
# that stops a step because it hurts). Short enough to fit 80x24 under the keys.
HELP_SAFETY = """\
[b]Stop a step at once[/b] if you feel sharp or spreading pain, numbness,
dizziness or shortness of breath: press [b]{hurts}[/b]. That part of the body
moves to imagery only, and the session goes on gently.
[b]Please get medical help[/b], not this program, for back pain that is severe,
lasting or spreading, numbness or weakness, fever, loss of bladder or bowel
control, or panic or sleeplessness that keeps coming back.
[b]Zones[/b]: ● GREEN full practice · ▲ YELLOW gentle, breath-led · ■ RED rest
only. The session steps down when your body works hard, and back up once you
have settled. This is a wellness aid, not a medical device or a treatment."""


def help_safety_text(hurts_key: str) -> str:
    """The help screen's safety section, with the key that stops a step."""
    return HELP_SAFETY.format(hurts=hurts_key)


# --------------------------------------------------------------------------
# Cues of the session frame.

IDLE_PACER = "Breathe easily, at your own pace."

# A breath held while tensing: one gentle reminder (pacing/breath_watch.py).
KEEP_BREATHING = "Keep your breath flowing as you tense: gently in, and out."
# Breathing far faster than the pacer: it starts at your pace and slows with you.
MEET_PACE = "Breathe with the guide at your own pace for now; it will slow down with you."


def settle_cue(breath_in_s: float, breath_out_s: float, setup: str = "") -> str:
    # The opening is Recognise (docs/domain.md section 2): noticing where you brace.
    cue = (
        "Settle in, and notice where you hold."
        f" Breathe in for {count(breath_in_s)}, and out slowly for {count(breath_out_s)}."
    )
    return f"{setup} {cue}" if setup else cue


CHECK_IN_CUE = (
    "Let's pause here. Rest and breathe gently, and notice how that part feels."
    " If the pain stays, stop the session; if it eases, we go on gently."
)
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
# Decisions in one plain sentence (the events' ``reason`` keeps the figures).


def _beats(delta_bpm: float) -> str:
    n = max(round(delta_bpm), 1)
    return "1 beat" if n == 1 else f"{n} beats"


def step_down_plain(
    delta_bpm: float,
    to_zone: Zone,
    *,
    rise_bpm: float | None = None,
    rise_s: float = 0.0,
    climbing: bool = False,
    min_above_bpm: float = 3.0,
    breath: tuple[str, ...] = (),
) -> str:
    """Why the session steps down, true of the figures that decided it; ``breath``:
    the breath signals that counted (``BreathReading.crossed``), said in a few words.

    ``delta_bpm``: heart rate over the resting rate; ``rise_bpm``: the climb the
    evidence measured over the last ``rise_s`` seconds (against a reference that
    may have followed a settling heart down, so it can be far larger than
    ``delta_bpm``). A heart barely over its resting rate is never said to be
    "above" it: the sentence says what climbed, and when.
    """
    text = _step_down_heart(delta_bpm, to_zone, rise_bpm, rise_s, climbing, min_above_bpm)
    if not breath:
        return text
    # The breath's part goes before the ", so ..." every heart sentence ends with.
    return text.replace(", so", f", and your breathing is {_breath_words(breath)}, so", 1)


def _breath_words(crossed: tuple[str, ...]) -> str:
    words = [
        word
        for key, word in (("faster", "faster"), ("shallower", "shallower"), ("irregular", "uneven"))
        if any(c.startswith(f"breathing {key}") for c in crossed)
    ]
    if len(words) > 1:
        return ", ".join(words[:-1]) + " and " + words[-1]
    return words[0] if words else "changing"


def _step_down_heart(
    delta_bpm: float,
    to_zone: Zone,
    rise_bpm: float | None,
    rise_s: float,
    climbing: bool,
    min_above_bpm: float,
) -> str:
    if to_zone is Zone.RED and rise_bpm is not None:
        still = "still climbing" if climbing else "climbing again"
        above = (
            f", {_beats(delta_bpm)} above your resting rate" if delta_bpm >= min_above_bpm else ""
        )
        return (
            f"Your heart rate is {still}: up about {_beats(rise_bpm)} {_recently(rise_s)}"
            f"{above}, so let's simply rest."
        )
    if delta_bpm < min_above_bpm and rise_bpm is not None:
        return (
            f"Your heart rate has gone up about {_beats(rise_bpm)} {_recently(rise_s)},"
            " so we're easing off."
        )
    if to_zone is Zone.RED:
        return (
            f"Your heart rate is still climbing, about {_beats(delta_bpm)} above your"
            " resting rate, so let's simply rest."
        )
    return (
        f"Your heart rate has stayed about {_beats(delta_bpm)} above your resting rate,"
        " so we're easing off."
    )


def _recently(span_s: float) -> str:
    if span_s < 20.0:
        return "within seconds"
    if span_s <= 60.0:
        return "in the last minute"
    return f"in the last {math.ceil(span_s / 60.0)} minutes"


def step_up_plain(to_zone: Zone) -> str:
    if to_zone is Zone.GREEN:
        return "Your heart has settled back near its resting rate, so we'll carry on fully."
    return "Your heart has settled a good deal, so we'll add some gentle movement."


def start_gently_plain(delta_bpm: float) -> str:
    return f"Your heart rose about {_beats(delta_bpm)} while we settled in, so we'll start gently."


def stored_start_plain(delta_bpm: float) -> str:
    return (
        f"Your heart started about {_beats(delta_bpm)} above your usual resting rate,"
        " so we'll start gently."
    )


EXTEND_PLAIN = "Your heart is still a little up, so we'll stay here a few seconds longer."
SETTLE_LONGER_PLAIN = "We'll breathe a little longer to learn your resting heart."
SIGNAL_LOST_PLAIN = (
    "We can't read your heart right now, so the session carries on at its usual pace."
)
BASELINE_PLAIN = {
    "opening": "Thank you. We now know your resting heart for today.",
    "given": "We're using your resting heart from earlier sessions.",
    "opening-longer": "Thank you. It took a little longer to find your resting heart today.",
    "rising": "Your heart was still rising as we settled, so we'll start gently.",
    "stored": (
        "Your heart is higher than usual today, so we'll compare with your earlier sessions."
    ),
}


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
