"""WAV files as a person may have recorded them: any PCM, read to our rate and to mono.

Python's ``wave`` reads integer PCM in a plain header only; a recorder or an
editor often saves 24-bit or 32-bit float samples with an extensible header.
Here the RIFF chunks are read directly: 8-bit (unsigned), 16, 24 and 32-bit
integer, 32 and 64-bit float, plain or extensible, any number of channels
(averaged to mono), any rate. A rate not ours is converted by soxr, a
band-limited resampler: what lies above the new Nyquist frequency is filtered
out, not folded back as a false tone (np.interp folded a 15 kHz tone at
48 kHz down to 7 kHz).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from biofeedback.audio import SAMPLE_RATE_HZ

Samples = npt.NDArray[np.float32]

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


def read_any_wav(path: Path) -> tuple[Samples, int]:
    """The samples of ``path`` (mono, -1..1) and its rate; ValueError says what is wrong."""
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    fmt: tuple[int, int, int, int] | None = None
    raw: bytes | None = None
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        body = data[at + 8 : at + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                raise ValueError("its format chunk is cut short")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # the sub-format's first field
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            raw = body
        at += 8 + size + (size & 1)  # chunks are padded to an even length
    if fmt is None or raw is None:
        raise ValueError("no format or no data chunk in it")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1:
        raise ValueError("no channels or no sample rate in its header")
    return _decode(raw, tag, bits, channels), rate


def _decode(raw: bytes, tag: int, bits: int, channels: int) -> Samples:
    width = bits // 8
    frame = width * channels
    if width == 0 or bits % 8:
        raise ValueError(f"{bits}-bit samples; save as 16, 24 or 32-bit PCM, or 32-bit float")
    raw = raw[: len(raw) // frame * frame]
    if tag == _FLOAT and width in (4, 8):
        samples = np.frombuffer(raw, "<f4" if width == 4 else "<f8").astype(np.float32)
    elif tag == _PCM and width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _PCM and width in (2, 4):
        ints = np.frombuffer(raw, "<i2" if width == 2 else "<i4")
        samples = (ints / float(2 ** (bits - 1))).astype(np.float32)
    elif tag == _PCM and width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = (ints / float(1 << 23)).astype(np.float32)
    else:
        kind = "float" if tag == _FLOAT else "integer" if tag == _PCM else f"format {tag}"
        raise ValueError(
            f"{bits}-bit {kind} samples; save as 16, 24 or 32-bit PCM, or 32-bit float"
        )
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def to_our_rate(samples: Samples, rate: int) -> Samples:
    """``samples`` at ``rate`` converted to SAMPLE_RATE_HZ, band-limited."""
    if rate == SAMPLE_RATE_HZ or len(samples) == 0:
        return samples.astype(np.float32)
    out = soxr.resample(samples.astype(np.float32), rate, SAMPLE_RATE_HZ, quality="HQ")
    return np.asarray(out, dtype=np.float32)
