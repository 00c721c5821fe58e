"""``median`` and ``percentile`` give what ``np.median`` and ``np.percentile`` give, to
the bit, without importing numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from biofeedback.signals.median import median, percentile


def test_the_median_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    for n in range(1, 120):
        for trial in range(12):
            x = rng.normal(800.0, 60.0, n).round(int(rng.integers(0, 4)))
            if trial == 5:
                x[rng.integers(0, n)] = np.nan
            ours, theirs = median(x), float(np.median(x))
            assert np.isnan(ours) == np.isnan(theirs)
            if not np.isnan(theirs):
                assert np.float64(ours).tobytes() == np.float64(theirs).tobytes(), (n, x)
        ints = rng.integers(300, 1500, n)
        assert median(ints) == float(np.median(ints))
        assert median(list(ints)) == float(np.median(ints))
    assert np.isnan(median(np.empty(0)))


def test_the_percentile_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(11)
    for n in range(1, 150):
        for trial in range(6):
            x = rng.normal(70.0, 6.0, n).round(int(rng.integers(0, 5)))
            if trial == 3:
                x[rng.integers(0, n)] = np.nan
            # The ends, the middle, the resonance swing's 5 and 95, and uneven ones.
            for q in (0.0, 5.0, 37.5, 50.0, 95.0, 99.9, 100.0, 1e-9):
                ours, theirs = percentile(x, q), float(np.percentile(x, q))
                assert np.isnan(ours) == np.isnan(theirs)
                if not np.isnan(theirs):
                    assert np.float64(ours).tobytes() == np.float64(theirs).tobytes(), (n, q, x)
    assert np.isnan(percentile(np.empty(0), 50.0))


def test_it_does_not_import_numpy_ma() -> None:
    # numpy.ma costs ~30 ms of a command's start: np.median imports it on first use.
    code = (
        "import sys, numpy as np; from biofeedback.signals.median import median;"
        " from biofeedback.signals.median import percentile; percentile(np.arange(10.0), 95);"
        " median(np.arange(10.0)); print('numpy.ma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
