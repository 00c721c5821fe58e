"""The simulated loop's natural rate: the search that places the peak of the total
swing works the candidate-independent parts out once and stops at the first candidate
that cannot be bettered (issue 28: it was ~15 ms of a 15-minute simulated session's
set-up); it must choose what the plain search over ``total_swing_ms`` chooses, to the
bit, for every scenario's person (some stop early, some search to the end) and others.
The built-in people's rates are then looked up, not searched for (~2.5 ms of every
simulated start): the table must hold what the search finds, for every one of them."""

from __future__ import annotations

import dataclasses

import numpy as np

from simulators.baroreflex import (
    _BUILT_IN_NATURAL_HZ,
    _SEARCH_POINTS,
    _SEARCH_SPAN,
    natural_hz_for,
    search_natural_hz,
    total_swing_ms,
)
from simulators.scenario import Person, load_scenario, scenario_names


def _plain_search(
    resonance_hz: float,
    *,
    damping: float,
    rsa_ms: float,
    rsa_corner_hz: float,
    rsa_ref_hz: float,
    baro_ms: float,
    lag_s: float,
) -> float:
    """The search as first written: the whole swing for each candidate."""
    if baro_ms <= 0:
        return resonance_hz
    freqs = np.linspace(0.4 * resonance_hz, 2.0 * resonance_hz, 1601)

    def miss(natural: float) -> float:
        swing = total_swing_ms(
            freqs,
            natural_hz=natural,
            damping=damping,
            rsa_ms=rsa_ms,
            rsa_corner_hz=rsa_corner_hz,
            rsa_ref_hz=rsa_ref_hz,
            baro_ms=baro_ms,
            lag_s=lag_s,
        )
        return abs(float(freqs[int(np.argmax(swing))]) - resonance_hz)

    candidates = np.linspace(*_SEARCH_SPAN, _SEARCH_POINTS) * resonance_hz
    return min((float(c) for c in candidates), key=miss)


_KEY_ORDER = ("damping", "rsa_ms", "rsa_corner_hz", "rsa_ref_hz", "baro_ms", "lag_s")


def _arguments(p: Person) -> tuple[float, dict[str, float]]:
    # As simulators.physiology.Heart asks.
    return p.resonance_bpm / 60.0, {
        "damping": p.baro_damping,
        "rsa_ms": p.rsa_ms,
        "rsa_corner_hz": p.rsa_corner_hz,
        "rsa_ref_hz": p.breath_rate_hz,
        "baro_ms": p.baro_ms,
        "lag_s": 30.0 / p.rest_hr_bpm,
    }


def test_the_natural_rate_is_the_plain_searchs_to_the_bit() -> None:
    people = [load_scenario(name).person for name in scenario_names()]
    base = people[0]
    # Beyond the scenarios: sharp and broad peaks, slow and fast resonance, a weak
    # loop beside a strong direct RSA (where the peak moves most), no loop at all.
    people += [
        dataclasses.replace(base, resonance_bpm=bpm, baro_damping=d, baro_ms=b, rsa_ms=r)
        for bpm, d, b, r in [
            (4.5, 0.05, 150.0, 60.0),
            (6.5, 0.4, 80.0, 90.0),
            (7.0, 0.9, 20.0, 120.0),
            (3.0, 0.2, 300.0, 10.0),
            (5.5, 0.1, 0.0, 60.0),
        ]
    ]
    seen = set()
    for person in people:
        resonance_hz, kw = _arguments(person)
        natural_hz_for.cache_clear()  # not an answer cached by an earlier test
        found = natural_hz_for(resonance_hz, **kw)
        plain = _plain_search(resonance_hz, **kw)
        # The built-in people's rates are looked up: the table and the search itself.
        assert found == plain, person
        assert search_natural_hz(resonance_hz, **kw) == plain, person
        seen.add(found)
    assert len(seen) >= 5  # the cases differ: the comparison could fail


def test_every_built_in_person_is_looked_up_not_searched_for() -> None:
    # A scenario edited without its entry would still run the same (searched for),
    # only slower at every start: this says which entry to print again.
    for name in scenario_names():
        resonance_hz, kw = _arguments(load_scenario(name).person)
        key = (resonance_hz, *(kw[k] for k in _KEY_ORDER))
        assert key in _BUILT_IN_NATURAL_HZ, (
            f"{name}: add {key!r}: {search_natural_hz(resonance_hz, **kw)!r}"
        )
