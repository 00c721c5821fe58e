"""``median`` gives what ``np.median`` gives, to the bit, without importing numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from biofeedback.pacing.median import median


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


def test_it_does_not_import_numpy_ma() -> None:
    # numpy.ma costs ~30 ms of a command's start: np.median imports it on first use.
    code = (
        "import sys, numpy as np; from biofeedback.pacing.median import median;"
        " median(np.arange(10.0)); print('numpy.ma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
