"""The batch windows' starts are the binary search's own answers, to the index.

``BeatWindows.bounds`` guesses each window start from the count at an earlier time
of an even grid and checks every guess; whatever the grid, the beats and the spans,
the answer must be ``searchsorted``'s.
"""

from __future__ import annotations

import numpy as np

from biofeedback.signals.hrv import BeatWindows


def test_window_starts_are_the_searchs_on_any_grid() -> None:
    rng = np.random.default_rng(2)
    for trial in range(40):
        rr = rng.normal(800.0, 80.0, int(rng.integers(0, 3000))).clip(300.0, 2000.0)
        if trial % 5 == 0 and rr.size > 100:
            rr[rr.size // 2] += 30_000.0  # a long gap in the signal
        t = np.cumsum(rr) / 1000.0
        windows = BeatWindows()
        windows.extend(t, rr, t)
        end = float(t[-1]) if t.size else 10.0
        step = [1.0, 0.5, 0.37, 1.0 / 3.0][trial % 4]
        grid = np.arange(0.3, end + 5.0, step)
        if trial % 7 == 3:
            grid = np.sort(rng.uniform(0.0, end + 5.0, grid.size))  # uneven times
        spans = np.array([12.0, 30.0, 60.0, 5.0, 10.0, 2.9, 0.1])
        _, lo = windows.bounds(grid, spans)
        want = np.asarray([np.searchsorted(t, grid - span, side="right") for span in spans])
        assert np.array_equal(lo, want), trial
