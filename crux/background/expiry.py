"""The expiry sweep (SPEC §8.3): every attempt whose deadline passed or whose lease lapsed is
retried, failed through the workflow's rules, or made an incident, within about a second.

Each run handles one batch in one transaction (crux/services/attempts.py `expire`): the rows of
instances whose locks are free, soonest due first, the retries in one statement. A full batch
is followed at once by the next; otherwise the job rests IDLE seconds.
"""
from __future__ import annotations

import threading

from crux.services.attempts import AttemptService, ExpiryCounts

IDLE = 0.25
BATCH = 500


class ExpiryCounter:
    """Expiries handled since the engine's last beat, by outcome (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = [0, 0, 0]

    def add(self, counts: ExpiryCounts) -> None:
        with self._lock:
            self._counts = [self._counts[0] + counts.retried, self._counts[1] + counts.failed,
                            self._counts[2] + counts.incidents]

    def take(self) -> tuple[int, int, int]:
        """(retried, failed, incidents) since the last take."""
        with self._lock:
            (retried, failed, incidents), self._counts = self._counts, [0, 0, 0]
        return retried, failed, incidents

    def give_back(self, counts: tuple[int, int, int]) -> None:
        """Counts taken but not recorded (the beat failed): counted again at the next beat."""
        with self._lock:
            self._counts = [a + b for a, b in zip(self._counts, counts, strict=True)]


class ExpiryJob:
    name = "expiry"
    idle = IDLE

    def __init__(self, attempts: AttemptService, counter: ExpiryCounter, batch: int = BATCH):
        self.attempts = attempts
        self.counter = counter
        self.batch = batch

    def run_once(self) -> bool:
        counts = self.attempts.expire(self.batch)
        self.counter.add(counts)
        return len(counts.rows) >= self.batch
