"""The stdout sink: one line per session event, as text or JSON Lines."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from biofeedback.models import HeartSample, SessionEvent, SessionInfo
from biofeedback.models.events import estimate_json

# The least wall time between two writes of the printed lines: a --speed max day
# wrote 2,700 times (~0.1 s of CPU into a pipe), now a few hundred (~0.02-0.04 s).
FLUSH_EVERY_S = 0.05


class ConsoleSink:
    """Prints every event; raw samples are not printed (the recorder keeps them)."""

    name = "stdout"
    # Never drop a line of the printed record: a pipe reader expects all of it.
    queue_size = 1_000_000
    # Raw samples are not printed: the fan-out need not queue them here.
    hears_samples = False

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        as_json: bool = False,
        flush_every_s: float = FLUSH_EVERY_S,
    ) -> None:
        """``flush_every_s``: the least wall time between two writes of the lines."""
        self.stream = stream if stream is not None else sys.stdout
        self.as_json = as_json
        self.flush_every_s = flush_every_s
        self.closed = False
        self._flush_due = False
        # Lines not yet written: one write at most each ``flush_every_s``, not one a line.
        self._lines: list[str] = []
        self._written_at = -math.inf

    async def start(self, info: SessionInfo) -> None:
        return None

    async def handle(self, item: SessionEvent | HeartSample) -> None:
        await self.handle_batch((item,))

    async def handle_batch(self, items: Sequence[object]) -> None:
        """What the fan-out's queue held, in order (see ``loop.fanout.BatchAware``)."""
        if self.closed:
            return
        lines = self._lines
        written = len(lines)
        if self.as_json:
            # An estimate's line written from its fields (most of the lines; None
            # where it has to go by its dict), the other events' dicts encoded
            # together; the lines kept in the events' order.
            fast: list[str | None] = []
            dicts: list[dict[str, Any]] = []
            for item in items:
                if isinstance(item, SessionEvent):
                    line = estimate_json(item)
                    if line is None:
                        dicts.append(item.to_dict())
                    fast.append(line)
            batch = json_lines(dicts)
            if batch is None:
                # A line at a time: the lines before one that cannot be written are kept.
                pending = iter(dicts)
                for line in fast:
                    lines.append(line if line is not None else _JSON.encode(next(pending)))
            elif len(batch) == len(fast):
                lines += batch
            else:
                pieces = iter(batch)
                lines += [line if line is not None else next(pieces) for line in fast]
        else:
            for item in items:
                if isinstance(item, SessionEvent):
                    lines.append(format_event(item))
        if len(lines) > written and not self._flush_due:
            # Written and flushed once the lines queued so far are in (the loop's
            # next turn), not once a line; and at most once each ``flush_every_s``:
            # at --speed max a turn brings ~40 lines every few ms, and each write to
            # a pipe costs more than its lines' bytes (a wake-up of the reader).
            # Live, the lines of a second are written the turn they come.
            self._flush_due = True
            loop = asyncio.get_running_loop()
            wait_s = self._written_at + self.flush_every_s - time.monotonic()
            if wait_s > 0:
                loop.call_later(wait_s, self._flush)
            else:
                loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        if self.closed or not self._lines:
            return
        lines, self._lines = self._lines, []
        self._written_at = time.monotonic()
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self._reader_left()

    def _reader_left(self) -> None:
        # The reader left (`| head`); the session and its record go on.
        self.closed = True
        if self.stream is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())

    async def stop(self) -> None:
        self._flush()


# One encoder for every line (``json.dumps`` with separators builds one a call);
# an event is a fresh flat dict, never a cycle, so nothing is checked for one.
_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)

# Between two lines' dicts in one list: the record separator, a string no event
# holds alone (if one does, ``json_lines`` sees it and writes a line at a time).
_MARK = "\x1e"
_BETWEEN = "," + _JSON.encode(_MARK) + ","


def json_lines(dicts: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Each dict as ``_JSON.encode`` writes it, by one call of the encoder for all of
    them (a call each costs ~0.7 us more than the line, ~110,000 lines a day): the
    list [d1, MARK, d2, MARK, ...] written once and cut at each ``,"\u001e",``.

    The cut is exact when it gives one piece per dict: a dict's text starts with
    ``{`` and ends with ``}``, which the cut has not, so no cut between two dicts
    can overlap another, and a cut inside a dict's text (a list holding a string
    of just the mark) makes a piece too many. None then, and where the encoder
    refuses a value: the caller writes a line at a time."""
    if len(dicts) < 2:
        return None
    mixed: list[object] = [_MARK] * (2 * len(dicts) - 1)
    mixed[0::2] = dicts
    try:
        lines = _JSON.encode(mixed)[1:-1].split(_BETWEEN)
    except (TypeError, ValueError):
        return None
    return lines if len(lines) == len(dicts) else None


_SCREEN_ONLY = frozenset({"steps_left", "session_left_s", "routine", "routine_zone"})


def format_event(event: SessionEvent) -> str:
    """A short human line: time, type, then the fields that matter."""
    data = event.to_dict()
    t = data.pop("t")
    kind = data.pop("type")
    minutes, seconds = divmod(float(t), 60.0)
    stamp = f"{int(minutes):02d}:{seconds:04.1f}"
    # The sentence for the person leads; the fields with the figures follow it.
    plain = data.pop("plain", "")
    parts = [plain, "·"] if isinstance(plain, str) and plain else []
    for key, value in data.items():
        # Progress and routine are for screens and JSON: a text line stays short.
        if value is None or value == "" or key in _SCREEN_ONLY:
            continue
        if isinstance(value, float):
            value = f"{value:g}"
        elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            value = "[" + "; ".join(map(str, value)) + "]"
        elif isinstance(value, tuple | list):
            # Nested records (a resonance assessment's scores) are for --json.
            value = f"<{len(value)}>"
        parts.append(f"{key}={value}")
    return f"{stamp}  {kind:<16} {' '.join(parts)}".rstrip()
