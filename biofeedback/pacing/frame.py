"""The session frame in the words of the care model (docs/domain.md section 2).

A session opens in **Recognise** (slow breaths while the baseline is taken:
notice where you hold), does its work in **Reduce** (the routine of the zone)
and closes in **Restore** (the whole-body scan and the last breath). Review
names the parts with these words.
"""

from __future__ import annotations

from enum import StrEnum

# The frame's own steps, by id: the planner places them (the controller and tests
# import them from there); review reads them without loading the planner.
SETTLE = "settle"
CLOSING_SCAN = "closing-scan"
CLOSING_REST = "closing-rest"
CLOSING_BREATH = "closing-breath"


class Part(StrEnum):
    RECOGNISE = "recognise"
    REDUCE = "reduce"
    RESTORE = "restore"

    @property
    def word(self) -> str:
        return self.value.capitalize()

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Part.RECOGNISE: "notice where you hold",
    Part.REDUCE: "tense and release, or soften",
    Part.RESTORE: "scan and keep the calm",
}
_OPENING = frozenset({SETTLE})
_CLOSING = frozenset({CLOSING_SCAN, CLOSING_REST, CLOSING_BREATH})


def part_of(step_id: str) -> Part:
    """The part of the frame a step belongs to, from its id."""
    if step_id in _OPENING:
        return Part.RECOGNISE
    if step_id in _CLOSING:
        return Part.RESTORE
    return Part.REDUCE
