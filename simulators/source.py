"""The in-process simulated strap behind ``biofeedback run --sim``."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from importlib import resources
from types import TracebackType
from typing import Any, Self

from biofeedback.models import Contact, HeartSample, SessionEvent
from simulators.physiology import Heart, PersonParams


class ScenarioError(Exception):
    """Unknown or malformed scenario."""


def scenario_names() -> list[str]:
    folder = resources.files("simulators") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name: str) -> dict[str, Any]:
    entry = resources.files("simulators") / "scenarios" / f"{name}.toml"
    if not entry.is_file():
        raise ScenarioError(
            f"unknown scenario {name!r}; choose one of: {', '.join(scenario_names())}"
        )
    return tomllib.loads(entry.read_text(encoding="utf-8"))


class SimulatedSource:
    """Beats from a simulated heart, packed into ~1 Hz notifications."""

    virtual = True

    def __init__(self, scenario: str = "calm", seed: int | None = None) -> None:
        data = load_scenario(scenario)
        fields = set(PersonParams.__dataclass_fields__)
        params = PersonParams(**{k: v for k, v in data.items() if k in fields})
        self.heart = Heart(params, seed if seed is not None else int(data.get("seed", 0)))
        self.description = f"simulator:{scenario}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def observe(self, event: SessionEvent) -> None:
        if event.type == "step_started":
            kind = getattr(event, "kind", None)
            self.heart.tensing = kind == "tense"
            self.heart.pace_breathing(
                getattr(event, "breath_in_s", None), getattr(event, "breath_out_s", None)
            )

    def __aiter__(self) -> AsyncIterator[HeartSample]:
        return self._samples()

    async def _samples(self) -> AsyncIterator[HeartSample]:
        next_note_s = 1.0
        beats: list[tuple[float, float]] = []
        while True:
            t_s, rr_ms = self.heart.next_beat()
            while t_s > next_note_s:
                yield self._notification(next_note_s, beats)
                beats = []
                next_note_s += 1.0
            beats.append((t_s, rr_ms))

    def _notification(self, t_s: float, beats: list[tuple[float, float]]) -> HeartSample:
        # Straps send RR in 1/1024 s units.
        rr = tuple(round(rr * 1.024) / 1.024 for _, rr in beats)
        hr = 60000.0 / (sum(rr) / len(rr)) if rr else 60000.0 / 1000.0
        return HeartSample(
            t_s=t_s,
            hr_bpm=float(round(hr)),
            rr_ms=rr,
            beat_t_s=tuple(t for t, _ in beats),
            contact=Contact.DETECTED,
        )
