"""Exponential backoff with jitter, for reconnects and snapshot retries."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sor._core import InvalidInput


@dataclass(frozen=True)
class BackoffPolicy:
    """How delays grow: ``initial * factor**n`` seconds, capped at ``maximum``, minus jitter.

    ``jitter`` is the fraction of each delay that is randomised: a delay ``d`` becomes a uniform
    draw from ``[d * (1 - jitter), d]``, so many clients that lost the same server do not come
    back in lockstep.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise InvalidInput(
                f"initial: expected 0 < initial <= maximum, got {self.initial} and {self.maximum}"
            )
        if self.factor < 1:
            raise InvalidInput(f"factor: expected >= 1, got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise InvalidInput(f"jitter: expected a fraction in [0, 1], got {self.jitter}")


@dataclass
class Backoff:
    """The state of one backoff sequence (one connection, or one symbol's resyncs)."""

    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; each call grows the following one."""
        policy = self.policy
        # Cap the exponent so a long outage cannot overflow the float.
        exponent = min(self.attempts, 64)
        base = min(policy.maximum, policy.initial * policy.factor**exponent)
        self.attempts += 1
        return base * (1.0 - policy.jitter * self.rng.random())

    def reset(self) -> None:
        """Starts over from the initial delay (after a success)."""
        self.attempts = 0
