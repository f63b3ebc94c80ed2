"""Exponential backoff with jitter, for reconnects and snapshot retries."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sor._validate import to_float
from sor.errors import InvalidInput

__all__ = ["MAX_DURATION_S", "MAX_FACTOR", "Backoff", "BackoffPolicy"]

#: Largest duration setting of a feed, in seconds (a day).
MAX_DURATION_S = 86_400.0
#: Largest backoff growth factor.
MAX_FACTOR = 1_000.0


@dataclass(frozen=True)
class BackoffPolicy:
    """How delays grow: ``initial * factor**n`` seconds, capped at ``maximum``, minus jitter.

    ``jitter`` is the fraction of each delay that is randomised: a delay ``d`` becomes a uniform
    draw from ``[d * (1 - jitter), d]``, so many clients that lost the same server do not come
    back in lockstep. Ranges: ``initial`` and ``maximum`` in (0, 86400] s (``initial`` at most
    ``maximum``), ``factor`` in [1, 1000], ``jitter`` in [0, 1].
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        maximum = to_float(self.maximum, "maximum", high=MAX_DURATION_S, above_low=True)
        initial = to_float(self.initial, "initial", high=MAX_DURATION_S, above_low=True)
        if initial > maximum:
            raise InvalidInput(
                f"initial: expected 0 < initial <= maximum, got {self.initial} and {self.maximum}"
            )
        to_float(self.factor, "factor", low=1.0, high=MAX_FACTOR)
        to_float(self.jitter, "jitter", high=1.0)


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
