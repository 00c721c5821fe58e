"""Self-ratings before and after a session: tension, pain, anxiety (SUDS), each 0-10.

Every scale is optional: a person may rate only what they feel like rating.
``"5,,3"`` rates tension 5 and anxiety 3 and skips pain.
"""

from __future__ import annotations

from typing import Any, Literal

from biofeedback.models.record import record
from biofeedback.practice import PracticeError

SCALES = ("tension", "pain", "anxiety")
LOW, HIGH = 0, 10
Phase = Literal["before", "after"]


class RatingError(PracticeError):
    """A rating that is not T,P,A with whole numbers 0-10 (or blanks)."""


@record(frozen=True, slots=True)
class Ratings:
    """0-10 each; None is a scale the person skipped."""

    tension: int | None = None
    pain: int | None = None
    anxiety: int | None = None

    def __post_init__(self) -> None:
        for scale in SCALES:
            value = getattr(self, scale)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not LOW <= value <= HIGH
            ):
                raise RatingError(f"{scale} must be a whole number {LOW}-{HIGH}, not {value!r}")

    @property
    def empty(self) -> bool:
        return all(getattr(self, s) is None for s in SCALES)

    def values(self) -> dict[str, int | None]:
        return {s: getattr(self, s) for s in SCALES}

    def to_dict(self) -> dict[str, int | None]:
        return self.values()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ratings:
        return cls(**{s: data.get(s) for s in SCALES})

    def text(self) -> str:
        """``tension 5, anxiety 3`` (skipped scales left out)."""
        parts = [f"{s} {v}" for s, v in self.values().items() if v is not None]
        return ", ".join(parts) or "not rated"


def parse_ratings(text: str, *, what: str = "rating") -> Ratings:
    """``T,P,A`` with blanks allowed (``5,,3``, ``4``, ``,2``); raises RatingError."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > len(SCALES):
        raise RatingError(
            f"{what}: give at most three numbers, tension,pain,anxiety (e.g. 5,,3), not {text!r}"
        )
    values: dict[str, int | None] = {}
    for scale, part in zip(SCALES, parts, strict=False):
        if not part:
            values[scale] = None
            continue
        if not part.isdigit() or not LOW <= int(part) <= HIGH:
            raise RatingError(
                f"{what}: {scale} must be a whole number {LOW}-{HIGH} or left blank, not {part!r}"
            )
        values[scale] = int(part)
    return Ratings(**values)


def change(before: Ratings | None, after: Ratings | None) -> dict[str, int | None]:
    """After minus before per scale; None where either side was skipped."""
    out: dict[str, int | None] = {}
    for scale in SCALES:
        b = None if before is None else getattr(before, scale)
        a = None if after is None else getattr(after, scale)
        out[scale] = None if a is None or b is None else a - b
    return out


def worse(before: Ratings | None, after: Ratings | None) -> list[str]:
    """Scales rated higher after than before (worse: all three scales are "less is better")."""
    return [s for s, d in change(before, after).items() if d is not None and d > 0]


def ratings_dict(before: Ratings | None, after: Ratings | None) -> dict[str, Any]:
    """The shape every ``--json`` output carries."""
    return {
        "before": None if before is None else before.to_dict(),
        "after": None if after is None else after.to_dict(),
        "change": change(before, after),
    }
