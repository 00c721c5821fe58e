"""Loudness as ITU-R BS.1770 measures it (pure numpy): K-weighting, then gated blocks.

K-weighting is two filters in a row, a high shelf (+4 dB above about 1.7 kHz,
the head's effect) and a high-pass near 38 Hz (the RLB curve); the standard
gives them as analog prototypes, turned here into biquads for any sample rate
by the bilinear transform.

Integrated loudness: mean square of the weighted signal in 400 ms blocks that
overlap by 75 %, blocks under -70 LUFS left out, then blocks more than 10 LU
under the mean of the rest left out; ``-0.691 + 10 log10(mean)``. A 1 kHz sine
of peak amplitude 1 (0 dBFS) on one channel reads -3.01 LUFS.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from biofeedback.audio import SAMPLE_RATE_HZ

Floats = npt.NDArray[np.float64]

# The standard's analog prototypes (their 48 kHz biquads are in BS.1770-4, table 1).
_SHELF_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_HIGHPASS_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773
_OFFSET_DB = -0.691
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = 10.0
# Quarter blocks: a 400 ms gating block is four of them (75 % overlap).
QUARTER_S = 0.1
SILENT_LUFS = -math.inf
# Every spoken phrase, recorded or synthetic, reads this loud (integrated).
SPEECH_LUFS = -20.0


def k_weighting(rate_hz: float) -> tuple[tuple[Floats, Floats], tuple[Floats, Floats]]:
    """The two biquads ``(b, a)`` of K-weighting at ``rate_hz``: shelf, then high-pass."""
    k = math.tan(math.pi * _SHELF_HZ / rate_hz)
    gain = 10 ** (_SHELF_GAIN_DB / 20)
    # The shelf's band gain: the standard's shelf passes between 1 and ``gain``.
    band = gain**0.4996667741545416
    a0 = 1 + k / _SHELF_Q + k * k
    shelf_b = np.array(
        [
            (gain + band * k / _SHELF_Q + k * k) / a0,
            2 * (k * k - gain) / a0,
            (gain - band * k / _SHELF_Q + k * k) / a0,
        ]
    )
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / _SHELF_Q + k * k) / a0])
    k = math.tan(math.pi * _HIGHPASS_HZ / rate_hz)
    a0 = 1 + k / _HIGHPASS_Q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / _HIGHPASS_Q + k * k) / a0])
    return (shelf_b, shelf_a), (high_b, high_a)


def k_power(n: int, rate_hz: float = SAMPLE_RATE_HZ) -> Floats:
    """K-weighting's power gain at the bins of an ``n``-point real FFT."""
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(n, 1 / rate_hz) / rate_hz)
    gain = np.ones(len(z))
    for b, a in k_weighting(rate_hz):
        num = b[0] + b[1] * z + b[2] * z * z
        den = a[0] + a[1] * z + a[2] * z * z
        gain *= np.abs(num / den) ** 2
    return gain


class LoudnessMeter:
    """Integrated loudness of a signal fed a block at a time (any block sizes).

    Each 100 ms quarter block is weighted in the frequency domain (Parseval:
    its mean square after K-weighting is the weighted sum of its power
    spectrum); the filter's response lasts a few ms, so treating each quarter
    on its own moves a reading by well under 0.1 dB, and a whole session costs
    one small FFT per 100 ms instead of a filter run sample by sample.
    """

    def __init__(self, rate_hz: int = SAMPLE_RATE_HZ) -> None:
        self.rate_hz = rate_hz
        self._quarter = round(QUARTER_S * rate_hz)
        weights = k_power(self._quarter, rate_hz)
        # Parseval for a real FFT: inner bins stand for two (their mirror image).
        weights[1 : (self._quarter + 1) // 2] *= 2
        self._weights = (weights / self._quarter**2).astype(np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._quarters: list[float] = []

    def add(self, samples: npt.NDArray[np.floating]) -> None:
        pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        whole = len(pending) // self._quarter
        if whole:
            frames = pending[: whole * self._quarter].reshape(whole, self._quarter)
            energy = np.zeros(whole, dtype=np.float64)
            # Silent quarters (a stem between its sounds) need no transform.
            sounding = np.flatnonzero(np.abs(frames).max(axis=1) > 0)
            if len(sounding):
                power = np.abs(np.fft.rfft(frames[sounding], axis=1)) ** 2
                energy[sounding] = power @ self._weights
            self._quarters += energy.tolist()
        self._pending = pending[whole * self._quarter :]

    @staticmethod
    def of_sum(meters: list[LoudnessMeter]) -> float:
        """The loudness of the sum of the metered signals, taken as the sum of their
        energies: exact for sounds that do not overlap (the mix's speech, tones and
        bells take turns), and without measuring the sum again."""
        n = min(len(m.block_energies) for m in meters)
        return _integrated(np.sum([m.block_energies[:n] for m in meters], axis=0))

    @property
    def block_energies(self) -> list[float]:
        """The K-weighted mean square of each 100 ms block metered so far."""
        return self._quarters

    def integrated_lufs(self) -> float:
        """The gated loudness so far (``-inf`` for silence or under 400 ms of sound)."""
        return _integrated(np.array(self._quarters))


def _integrated(q: Floats) -> float:
    if len(q) < 4:
        return SILENT_LUFS
    blocks = (q[:-3] + q[1:-2] + q[2:-1] + q[3:]) / 4
    return gated_lufs(blocks)


def gated_lufs(block_ms: Floats) -> float:
    """Integrated loudness from the mean squares of 400 ms K-weighted blocks."""
    with np.errstate(divide="ignore"):
        loud = _OFFSET_DB + 10 * np.log10(block_ms)
    kept = block_ms[loud > ABSOLUTE_GATE_LUFS]
    if len(kept) == 0:
        return SILENT_LUFS
    relative = _OFFSET_DB + 10 * math.log10(float(kept.mean())) - RELATIVE_GATE_LU
    kept = block_ms[loud > max(relative, ABSOLUTE_GATE_LUFS)]
    return _OFFSET_DB + 10 * math.log10(float(kept.mean()))


def integrated_lufs(samples: npt.NDArray[np.floating], rate_hz: int = SAMPLE_RATE_HZ) -> float:
    """The integrated loudness of a whole mono signal."""
    meter = LoudnessMeter(rate_hz)
    meter.add(samples)
    return meter.integrated_lufs()


def normalise(
    samples: npt.NDArray[np.float32], target_lufs: float, peak_max: float = 0.89
) -> npt.NDArray[np.float32]:
    """``samples`` scaled to read ``target_lufs``, but never peaking over ``peak_max``.

    A clip shorter than one gating block is measured as if it were repeated
    to fill one (so a short word is not left unscaled).
    """
    if len(samples) == 0:
        return samples
    x = samples
    block = round(0.4 * SAMPLE_RATE_HZ)
    if len(x) < block:
        x = np.tile(x, block // len(x) + 1)
    lufs = integrated_lufs(x)
    if not math.isfinite(lufs):
        return samples
    gain = 10 ** ((target_lufs - lufs) / 20)
    peak = float(np.abs(samples).max())
    if peak * gain > peak_max:
        gain = peak_max / peak
    return (samples * gain).astype(np.float32)
