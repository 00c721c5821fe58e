"""The publisher's outbox: pure, bounded, events before state."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from biofeedback.models.record import record


@record(slots=True)
class Outgoing:
    """One MQTT message waiting to be published: topic, payload, QoS, retain flag and
    expiry."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    # Seconds the broker keeps it (MQTT 5 message expiry); None: for as long as it likes.
    expiry_s: int | None = None


class Outbox:
    """Messages waiting for the broker.

    Events are kept first: they are the record, published with QoS 1, and
    only the oldest are dropped once ``capacity`` is exceeded. State is a
    snapshot: only the newest waits, and a newer one drops the stale one.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._events: deque[Outgoing] = deque()
        self._state: Outgoing | None = None
        self.dropped_events = 0
        self.dropped_states = 0

    def __len__(self) -> int:
        return len(self._events) + (self._state is not None)

    def put_event(self, message: Outgoing) -> None:
        self._events.append(message)
        while len(self._events) > self.capacity:
            self._events.popleft()
            self.dropped_events += 1

    def put_state(self, message: Outgoing) -> None:
        if self._state is not None:
            self.dropped_states += 1
        self._state = message

    def take(self, limit: int) -> tuple[list[Outgoing], Outgoing | None]:
        """Up to ``limit`` events, oldest first, then the state if there is room."""
        events = [self._events.popleft() for _ in range(min(limit, len(self._events)))]
        state = None
        if len(events) < limit and self._state is not None:
            state, self._state = self._state, None
        return events, state

    def give_back(self, events: Iterable[Outgoing], state: Outgoing | None) -> None:
        """Return unsent messages to the front, in their order."""
        self._events.extendleft(reversed(list(events)))
        while len(self._events) > self.capacity:
            self._events.popleft()
            self.dropped_events += 1
        if state is not None:
            if self._state is None:
                self._state = state
            else:
                self.dropped_states += 1

    def abandon(self) -> None:
        """Count everything still waiting as dropped (the session is over)."""
        self.dropped_events += len(self._events)
        self.dropped_states += self._state is not None
        self._events.clear()
        self._state = None
