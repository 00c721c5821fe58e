"""The line removed before the breath rate from the beats and the live resonance
reading: ``np.polyfit(x, y, 1)``'s line from its closed form, within 1e-12 of the
scale (not to the bit: issue 28 asks for the same decisions, which the streams
show), and a stated rule where polyfit has no single line."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from biofeedback.signals.line_fit import line_fit, line_x, without_line

TOL = 1e-12


def _close_to_polyfit(x: np.ndarray, y: np.ndarray) -> None:
    slope, offset = line_fit(x, y)
    want_slope, want_offset = np.polyfit(x, y, 1)
    # The scale: the largest value of y or of the line over the points; the
    # slope's, that scale over the points' spread (the line's tilt across them).
    reach = float(np.abs(y).max() + abs(want_slope) * np.abs(x).max())
    assert abs(slope - want_slope) <= TOL * reach / float(np.ptp(x))
    assert abs(offset - want_offset) <= TOL * (abs(want_offset) + reach)
    residuals = without_line(x, y)
    want = y - np.polyval(np.polyfit(x, y, 1), x)
    assert np.abs(residuals - want).max() <= TOL * reach


# Squares that overflow warn, as numpy's own do, before they are fitted scaled.
@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_the_line_is_polyfits_within_a_trillionth_of_the_scale() -> None:
    rng = np.random.default_rng(11)
    for k in range(600):
        n = int(rng.integers(2, 500))
        if k % 4 == 0:
            # The readings' own grids: 4 Hz from the window's first beat.
            x = np.arange(n) / 4.0
        else:
            # Unordered, negative, tiny and huge, off zero by up to ten spreads.
            sd = 10.0 ** rng.uniform(-6, 6)
            x = rng.normal(rng.uniform(-10.0, 10.0) * sd, sd, n)
            if k % 3 == 0:
                x = np.sort(np.abs(x))
        y = rng.normal(rng.normal(0.0, 100.0), 10.0 ** rng.uniform(-3, 3), n)
        _close_to_polyfit(x, y + rng.uniform(-2, 2) * x)
    _close_to_polyfit(np.array([1.0, 3.0]), np.array([2.0, 7.0]))
    # Sums that overflow are fitted scaled; so are squares that underflow or
    # overflow, where polyfit's own scaling fails (it gives a slope of 0 for x near
    # 1e200 and "SVD did not converge" near 1e-200): the exact line there.
    _close_to_polyfit(np.array([1.0, 2.0, 4.0]), np.array([1e300, -1e300, 1.5e300]))
    for scale in (1e-200, 1e200):
        x, y = np.array([1.0, 2.0, 4.0]) * scale, np.array([1.0, 2.0, 2.5])
        assert line_fit(x, y) == pytest.approx(_exact(x, y), rel=1e-15)


def _exact(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The least-squares line in rational arithmetic (the floats' exact values)."""
    xs, ys = [Fraction(v) for v in x], [Fraction(v) for v in y]
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((a - x_mean) * (b - y_mean) for a, b in zip(xs, ys, strict=True)) / sum(
        (a - x_mean) ** 2 for a in xs
    )
    return float(slope), float(y_mean - slope * x_mean)


def test_where_polyfit_loses_digits_the_line_is_nearer_the_exact_one() -> None:
    # Points far from zero for their spread: polyfit's columns are nearly parallel
    # and it loses digits; the centred sums keep them (exact rational arithmetic).
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.normal(5e5, 1e-6, 40)
        y = rng.normal(0.0, 1.0, 40) + 3.0 * (x - 5e5) / 1e-6
        exact = _exact(x, y)[0]
        slope = line_fit(x, y)[0]
        assert abs(slope - exact) <= 1e-6 * abs(exact)
        assert abs(slope - exact) <= abs(float(np.polyfit(x, y, 1)[0]) - exact)


# Values that are not finite, and polyfit's squares that overflow, warn as numpy does.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_where_polyfit_has_no_single_line_the_rule_gives_one() -> None:
    # x all one value (a single point included): the flat line through the mean.
    # polyfit's line of least norm passes through the same point, so the
    # residuals are polyfit's.
    for x, y in (
        (np.array([2.0]), np.array([5.0])),
        (np.full(5, 3.0), np.arange(5.0)),
        (np.full(7, 0.1), np.linspace(60.0, 70.0, 7)),
        (np.full(4, 1e300), np.arange(4.0)),
    ):
        slope, offset = line_fit(x, y)
        assert slope == 0.0
        assert offset == pytest.approx(float(np.mean(y)), rel=1e-15)
        want = y - np.polyval(np.polyfit(x, y, 1), x)
        assert np.allclose(without_line(x, y), want, rtol=0.0, atol=1e-12 * np.abs(y).max())
    # y one value: polyfit's own line, to the bit (its rounding is all that the
    # residuals hold, and the resonance reading's figures were read from them).
    for x in (np.arange(300) / 4.0, np.array([0.0, 0.25, 0.7, 3.0])):
        y = np.full(x.size, 60000.0 / 923.0)
        assert line_fit(x, y) == tuple(np.polyfit(x, y, 1))
        assert np.array_equal(without_line(x, y), y - np.polyval(np.polyfit(x, y, 1), x))
    # All zero (polyfit fails: "SVD did not converge"): the flat line too.
    assert line_fit(np.zeros(5), np.arange(5.0)) == (0.0, 2.0)
    assert np.array_equal(without_line(np.zeros(3), np.ones(3)), np.zeros(3))
    # No points, or a value that is not finite: no line.
    nan_pair = (np.array([1.0, np.nan, 3.0]), np.array([np.inf, 1.0, 2.0]))
    for x, y in (
        (np.array([]), np.array([])),
        (np.arange(3.0), nan_pair[0]),
        (np.arange(3.0), nan_pair[1]),
        (nan_pair[0], np.arange(3.0)),
        (nan_pair[1], np.arange(3.0)),
        (np.array([1.0, 2.0, -np.inf]), np.array([1e300, 2.0, 3.0])),
    ):
        slope, offset = line_fit(x, y)
        assert math.isnan(slope)
        assert math.isnan(offset)
        assert np.isnan(without_line(x, y)).all()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_x_sums_worked_out_once_give_the_fit_of_x_itself_to_the_bit() -> None:
    # The live reading fits every window over the same grid: x's own sums kept
    # (``line_x``) must give what fitting x afresh gives, on every branch.
    rng = np.random.default_rng(29)
    grids = [np.arange(n) / 4.0 for n in (1, 2, 32, 255, 256, 257)]
    awkward = [
        np.zeros(4),
        np.full(5, 3.0),
        np.array([-0.0, 0.0, -0.0]),
        np.array([1.0, np.nan, 3.0]),
        np.array([np.inf, 1.0, 2.0]),
        np.array([1e-300, 2e-300, 3e-300]),
        np.array([1e200, 2e200, 4e200]),
        np.array([2.0, 1.0, 0.5, 7.0]),  # not in order
    ]
    for x in grids + awkward:
        known = line_x(x)
        ys = [rng.normal(60.0, 5.0, x.size), np.full(x.size, 60000.0 / 923.0), -np.zeros(x.size)]
        ys += [rng.normal(0.0, 1e250, x.size), np.where(rng.random(x.size) < 0.3, np.nan, 1.0)]
        for y in ys:
            plain, kept = line_fit(x, y), line_fit(x, y, known)
            assert np.array_equal(plain, kept, equal_nan=True), (x, y)
            assert np.signbit(plain).tolist() == np.signbit(kept).tolist()
            assert without_line(x, y).tobytes() == without_line(x, y, known).tobytes()
    # Kept sums are shared: a caller cannot change them.
    with pytest.raises(ValueError, match="read-only"):
        line_x(np.arange(4.0)).dx[0] = 1.0
