"""Executing an order with automatic failover, never filling more than was asked.

:class:`Executor` routes the order, sends each part of the decision to its venue (the parts of
a split concurrently) as an IOC order with a client order id of its own, and then routes what
remains on the books as they are then, without the venues that failed, until the order is
filled or no venue can take the rest. A venue's error is sorted by
:func:`sor.clients.classify_error`: a rejection moves on, a rate limit retries on the same
venue after a back-off, and an unknown outcome is looked up by its client order id before
anything else is sent. An outcome still unknown at the deadline holds the remainder: it is
never sent elsewhere. Fills are counted only from the venues' answers, so the total filled
never exceeds the order.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from sor._decimal import APPROX, EXACT, total
from sor.clients import (
    ErrorOutcome,
    PlaceOrder,
    VenueClient,
    VenueOrder,
    classify_error,
    needs_clock_resync,
)
from sor.errors import InvalidInput, JournalError, NoRouteError
from sor.execution.reconcile import settle
from sor.execution.report import (
    Attempt,
    AttemptOutcome,
    AttemptStage,
    ExecutionReport,
    ExecutionStatus,
)
from sor.execution.settings import ExecutionSettings
from sor.health import HealthMonitor
from sor.health.metrics import MAX_LATENCY_MS
from sor.journal import IN_FLIGHT, AttemptRecord, Journal, Settlement
from sor.orders import OrderRequest, OrderSide, OrderType, RoutingStrategy
from sor.routing import NoRouteReason, RoutePart, RoutingDecision, SmartOrderRouter

__all__ = ["Executor"]


class Executor:
    """Sends orders for ``router``'s decisions through ``clients`` (by venue name).

    With ``health``, every attempt's round trip and result is recorded there, and a venue
    whose circuit breaker does not let a request through is routed around. With a
    ``journal``, every execution and every order is written before the order is sent
    and settled after; attempts a previous run left in flight are looked up (:meth:`recover`)
    before anything new is sent, and while any stays unknown, executions are held. The
    executions such a run left unfinished get their end once their attempts are settled.
    """

    def __init__(
        self,
        router: SmartOrderRouter,
        clients: Mapping[str, VenueClient],
        settings: ExecutionSettings | None = None,
        *,
        journal: Journal | None = None,
        health: HealthMonitor | None = None,
    ) -> None:
        self.router = router
        self.clients = dict(clients)
        self.settings = ExecutionSettings() if settings is None else settings
        self.journal = journal
        self.health = health
        #: Client order ids this executor has sent and not yet settled (its own, in flight now:
        #: never "recovered" by a concurrent execution).
        self._active: set[str] = set()
        #: Execution ids this executor is running now (never finished by :meth:`recover`).
        self._running: set[str] = set()

    async def recover(self) -> list[AttemptRecord]:
        """Looks up every attempt the journal has in flight and writes what the venue says,
        then writes the end of every execution left unfinished whose attempts are all settled
        (see :meth:`_finish_left`); returns the attempts whose outcome is still unknown."""
        if self.journal is None:
            return []
        unknown = []
        for record in self._left_in_flight():
            client = self.clients.get(record.venue)
            if client is None:
                unknown.append(record)
                continue
            age_s = (time.time_ns() - record.sent_ns) / 1e9
            settled = await settle(
                client,
                record.symbol,
                record.client_order_id,
                time.monotonic() - age_s,
                self.settings,
            )
            if not settled.known:
                unknown.append(record)
            elif settled.order is None:
                self._settle_record(record.client_order_id, AttemptOutcome.NOT_PLACED, None)
            else:
                answer = settled.order
                outcome = _filled_outcome(answer.filled, record.amount)
                self._settle_record(record.client_order_id, outcome, answer)
        self._finish_left()
        return unknown

    def _finish_left(self) -> None:
        """Writes how the executions a run left unfinished ended (its instance died, or the
        run was interrupted or could not write its end), once none of their attempts is in
        flight: filled when their fills sum to the order's amount, partial when some filled,
        failed when none did. An execution this executor is running is left to its run, and
        one a live instance owns to that instance (:meth:`sor.journal.Journal.claim_unfinished`);
        another instance finishing the same one at once computes the same end, and one of the
        two writes it."""
        assert self.journal is not None
        for execution in self.journal.claim_unfinished(self._running):
            attempts = self.journal.attempts(execution.execution_id)
            filled = total(a.filled for a in attempts)
            status = _final_status(filled, execution.amount)
            self.journal.finish_claimed(
                execution.execution_id, status.value, filled, time.time_ns()
            )

    def _left_in_flight(self) -> list[AttemptRecord]:
        """What the journal has in flight that this executor may look up: its instance's own
        attempts that it is not sending now, and those a dead instance left (taken over)."""
        assert self.journal is not None
        return self.journal.claim_in_flight(self._active)

    def _settle_record(self, cid: str, outcome: AttemptOutcome, answer: VenueOrder | None) -> None:
        assert self.journal is not None
        self.journal.settle([_settlement(cid, outcome, answer)])

    async def execute(self, order: OrderRequest) -> ExecutionReport:
        """Routes and executes ``order``; the report says what filled where, and why not more.

        Raises :class:`sor.InvalidInput` when the order breaks a risk limit (nothing is sent).
        """
        started = time.perf_counter()
        run = _Run(uuid.uuid4().hex, order)
        if self.journal is not None:
            unknown = await self.recover() if self._left_in_flight() else []
            if unknown:
                ids = ", ".join(record.client_order_id for record in unknown)
                return self._report(run, None, f"held: {ids} still unknown", started, 0, held=True)
            self.journal.begin(run.execution_id, order, time.time_ns())
            self._running.add(run.execution_id)
        try:
            return await self._execute(run, started)
        finally:
            self._write_settlements(run)
            self._running.discard(run.execution_id)

    async def _execute(self, run: _Run, started: float) -> ExecutionReport:
        order, attempts = run.order, run.attempts
        excluded = set(order.excluded_exchanges)
        expected: Decimal | None = None
        reason: str | None = None
        decisions = 0
        held = False
        remaining = order.amount
        stage = AttemptStage.PRIMARY
        constrained: NoRouteError | None = None  # why the order's own constraints found nothing
        while remaining > 0 and len(attempts) < self.settings.max_attempts:
            try:
                decision = self._route(order, remaining, excluded, stage)
            except NoRouteError as error:
                if stage is not AttemptStage.EMERGENCY and self.settings.emergency:
                    stage, constrained = AttemptStage.EMERGENCY, error
                    continue
                reason = _no_route_reason(error, constrained, bool(attempts))
                break
            decisions += 1
            if expected is None:
                self._check_limits(order, decision)
                expected = _average_price(decision)
            blocked = [p.venue for p in decision.parts if not self._may_send(p.venue)]
            if blocked:  # route the whole remainder again without them: nothing was sent
                excluded.update(blocked)
                continue
            parts = list(decision.parts)
            sends = [self._send(run, part, decision.max_slippage_bps, stage) for part in parts]
            # A split's parts go out concurrently; a single part needs no task of its own.
            results = [await sends[0]] if len(sends) == 1 else await asyncio.gather(*sends)
            for part, sent in zip(parts, results, strict=True):
                attempts.extend(sent)
                last = sent[-1]
                if last.outcome is AttemptOutcome.UNKNOWN or last.error == _JOURNAL_FAILED:
                    held = True
                if last.outcome not in (AttemptOutcome.FILLED, AttemptOutcome.PARTIAL):
                    excluded.add(part.venue)
            remaining = EXACT.subtract(order.amount, total(a.filled for a in attempts))
            if stage is AttemptStage.PRIMARY:
                stage = AttemptStage.ALTERNATIVE
            if held:
                pending = [a for a in attempts if a.outcome is AttemptOutcome.UNKNOWN]
                reason = (
                    f"held: the outcome of {', '.join(a.client_order_id for a in pending)} on "
                    f"{', '.join(a.venue for a in pending)} is unknown; the rest is not sent"
                    if pending
                    else f"held: {_JOURNAL_FAILED}"
                )
                break
        else:
            if remaining > 0:
                reason = f"stopped after {len(attempts)} attempts"
        return self._report(run, expected, reason, started, decisions, held, begun=True)

    def _report(
        self,
        run: _Run,
        expected: Decimal | None,
        reason: str | None,
        started: float,
        decisions: int,
        held: bool,
        *,
        begun: bool = False,
    ) -> ExecutionReport:
        order, attempts = run.order, run.attempts
        filled = total(a.filled for a in attempts)
        status = ExecutionStatus.HELD if held else _final_status(filled, order.amount)
        if status is ExecutionStatus.FILLED:
            reason = None
        if self.journal is not None and begun:
            try:  # the end, with the attempts' outcomes not written yet: one durable write
                self.journal.finish(
                    run.execution_id, status.value, filled, time.time_ns(), run.unwritten
                )
            except JournalError as error:
                # The attempts stay in flight in the journal: the next execution looks them up.
                reason = f"{reason or status.value}; the journal could not record it: {error}"
            else:
                self._written(run, len(run.unwritten))
        return ExecutionReport(
            order=order,
            status=status,
            attempts=tuple(attempts),
            expected_price=expected,
            reason=reason,
            elapsed_ms=(time.perf_counter() - started) * 1_000,
            decisions=decisions,
            execution_id=run.execution_id,
        )

    def _written(self, run: _Run, count: int) -> None:
        """The first ``count`` unwritten settlements of ``run`` are durable now."""
        self._active.difference_update(s.client_order_id for s in run.unwritten[:count])
        del run.unwritten[:count]

    def _write_settlements(self, run: _Run) -> None:
        """Writes what ``run`` left unwritten (an execution interrupted, or whose end could not
        be written); what still fails stays in flight, for :meth:`recover` to look up."""
        if run.unwritten:
            assert self.journal is not None
            with contextlib.suppress(JournalError):
                self.journal.settle(run.unwritten)
            self._active.difference_update(s.client_order_id for s in run.unwritten)
            run.unwritten.clear()
        self._active.difference_update(run.sending)

    def _route(
        self, order: OrderRequest, remaining: Decimal, excluded: set[str], stage: AttemptStage
    ) -> RoutingDecision:
        """The decision for what remains of ``order`` at ``stage``: under the order's
        constraints, or (the emergency stage) a split over any healthy venue (see
        :class:`AttemptStage`)."""
        if stage is not AttemptStage.EMERGENCY:
            return self.router.route(_remainder(order, remaining, excluded))
        relaxed = replace(
            self.router.settings,
            min_liquidity_score=0.0,
            max_latency_ms=MAX_LATENCY_MS,
            low_latency_ms=MAX_LATENCY_MS,
            cache_size=0,
        )
        anywhere = _remainder(order, remaining, excluded, anywhere=True)
        return self.router.with_settings(relaxed).route(anywhere)

    def _may_send(self, venue: str) -> bool:
        if venue not in self.clients:
            return False
        return self.health is None or self.health.allow(venue)

    def _check_limits(self, order: OrderRequest, decision: RoutingDecision) -> None:
        limits = self.settings
        if limits.max_quantity is not None and order.amount > limits.max_quantity:
            raise InvalidInput(
                f"amount: {order.amount} is over the risk limit of {limits.max_quantity}"
            )
        notional = total(part.notional for part in decision.parts)
        if limits.max_notional is not None and notional > limits.max_notional:
            raise InvalidInput(
                f"amount: its notional {notional} is over the risk limit of {limits.max_notional}"
            )

    async def _send(
        self, run: _Run, part: RoutePart, slippage_bps: float, stage: AttemptStage
    ) -> list[Attempt]:
        """Sends ``part`` to its venue (again after a rate limit); the attempts it took."""
        order = run.order
        client = self.clients[part.venue]
        price = None if self._as_market(order) else self._limit_price(order, part, slippage_bps)
        attempts: list[Attempt] = []
        for retry in range(self.settings.retries + 1):
            attempt = await self._send_once(run, client, part, price, stage)
            attempts.append(attempt)
            if attempt.outcome is not AttemptOutcome.RETRY or retry == self.settings.retries:
                break
            asked = getattr(client, "retry_after_s", None)  # the venue's Retry-After, if said
            delay = self.settings.backoff_s * 2**retry
            await asyncio.sleep(max(delay, asked) if isinstance(asked, int | float) else delay)
        return attempts

    def _as_market(self, order: OrderRequest) -> bool:
        return self.settings.market_orders and order.order_type is OrderType.MARKET

    def _limit_price(self, order: OrderRequest, part: RoutePart, slippage_bps: float) -> Decimal:
        """The worst price the order accepts on the part's venue: its best price moved by the
        slippage bound (and no worse than the order's limit), on the venue's tick."""
        best = part.walk.best_price
        assert best is not None  # a part always fills something
        tick = self.router.venue(part.venue).markets[order.symbol].price_tick
        bound = APPROX.divide(APPROX.multiply(best, Decimal(repr(slippage_bps))), 10_000)
        if order.side is OrderSide.BUY:
            worst = APPROX.add(best, bound)
            if order.limit_price is not None:
                worst = min(worst, order.limit_price)
            return APPROX.multiply(APPROX.divide_int(worst, tick), tick)
        worst = APPROX.subtract(best, bound)
        if order.limit_price is not None:
            worst = max(worst, order.limit_price)
        steps = APPROX.divide_int(worst, tick)
        if APPROX.multiply(steps, tick) < worst:
            steps = APPROX.add(steps, 1)
        return APPROX.multiply(steps, tick)

    async def _send_once(
        self,
        run: _Run,
        client: VenueClient,
        part: RoutePart,
        price: Decimal | None,
        stage: AttemptStage,
    ) -> Attempt:
        order = run.order
        cid = f"{self.settings.client_id_prefix}-{uuid.uuid4().hex[:24]}"
        place = PlaceOrder(order.symbol, order.side, part.quantity, cid, price)
        sent_ns, sent_at = time.time_ns(), time.monotonic()

        def attempt(
            outcome: AttemptOutcome,
            answer: VenueOrder | None = None,
            error: str | None = None,
            reconciled: bool = False,
        ) -> Attempt:
            filled = Decimal(0) if answer is None else answer.filled
            if answer is not None and outcome is AttemptOutcome.FILLED:
                outcome = _filled_outcome(filled, part.quantity)
            if error != _JOURNAL_FAILED:
                if self.health is not None:
                    answered = outcome not in _VENUE_FAILED
                    latency = (time.monotonic() - sent_at) * 1_000 if answered else None
                    self.health.record(client.name, latency, answered)
                if self.journal is not None:  # written with the next attempt, or the end
                    run.unwritten.append(_settlement(cid, outcome, answer, error))
                    run.sending.discard(cid)
            return Attempt(
                venue=client.name,
                client_order_id=cid,
                amount=part.quantity,
                price=price,
                sent_at_ns=sent_ns,
                duration_ms=(time.monotonic() - sent_at) * 1_000,
                outcome=outcome,
                filled=filled,
                cost=Decimal(0) if answer is None else answer.cost,
                fee=Decimal(0) if answer is None else answer.fee,
                error=error,
                reconciled=reconciled,
                stage=stage,
            )

        if self.journal is not None:
            earlier = len(run.unwritten)  # how earlier attempts ended goes in the same write
            try:
                self.journal.sent(
                    run.execution_id, client.name, place, sent_ns, run.unwritten[:earlier]
                )
            except JournalError:
                return attempt(AttemptOutcome.REJECTED, None, _JOURNAL_FAILED)
            self._written(run, earlier)
            # In flight in the journal, and this executor's own until its outcome is written.
            self._active.add(cid)
            run.sending.add(cid)
        return await self._outcome(client, order, place, sent_at, attempt)

    async def _outcome(
        self,
        client: VenueClient,
        order: OrderRequest,
        place: PlaceOrder,
        sent_at: float,
        attempt: Callable[..., Attempt],
    ) -> Attempt:
        """Sends ``place`` and sorts what came back (looking the order up when unknown)."""
        cid = place.client_order_id
        try:
            answer = await _within(client.create_order(place), self.settings.order_timeout_s)
        except Exception as error:
            outcome = classify_error(error, http_status=getattr(client, "last_http_status", None))
            text = f"{type(error).__name__}: {error}"[:200]
            if outcome is ErrorOutcome.REJECTED:
                return attempt(AttemptOutcome.REJECTED, None, text)
            if outcome is ErrorOutcome.RETRY:
                if needs_clock_resync(error):
                    await _resync_clock(client)
                return attempt(AttemptOutcome.RETRY, None, text)
            settled = await settle(client, order.symbol, cid, sent_at, self.settings)
            if not settled.known:
                return attempt(AttemptOutcome.UNKNOWN, None, text, reconciled=True)
            if settled.order is None:
                return attempt(AttemptOutcome.NOT_PLACED, None, text, reconciled=True)
            return attempt(AttemptOutcome.FILLED, settled.order, text, reconciled=True)
        return attempt(AttemptOutcome.FILLED, answer)


T = TypeVar("T")


@dataclass
class _Run:
    """One execution under way: its id, its order, the attempts made, and (with a journal) the
    attempts sent whose outcome is not known yet (``sending``) or not written yet
    (``unwritten``, written with the next attempt or the execution's end)."""

    execution_id: str
    order: OrderRequest
    attempts: list[Attempt] = field(default_factory=list)
    unwritten: list[Settlement] = field(default_factory=list)
    sending: set[str] = field(default_factory=set)


def _settlement(
    cid: str, outcome: AttemptOutcome, answer: VenueOrder | None, error: str | None = None
) -> Settlement:
    """What the journal writes of an attempt's ``outcome`` (an unknown one stays in flight)."""
    state = IN_FLIGHT if outcome is AttemptOutcome.UNKNOWN else outcome.value
    if answer is None:
        return Settlement(cid, state, error=error)
    return Settlement(cid, state, answer.filled, answer.cost, answer.fee, error)


#: Outcomes that count against the venue's health: it did not answer as a venue should.
_VENUE_FAILED = frozenset({AttemptOutcome.RETRY, AttemptOutcome.NOT_PLACED, AttemptOutcome.UNKNOWN})

#: The error of an attempt not sent because its journal record could not be written.
_JOURNAL_FAILED = "not sent: the journal could not be written"


async def _within(call: Awaitable[T], seconds: float) -> T:
    """``await call``, raising :class:`TimeoutError` after ``seconds``: in the running task on
    Python 3.11+ (``asyncio.timeout``), without the task ``asyncio.wait_for`` makes there."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)  # pragma: no cover - Python 3.10


async def _resync_clock(client: VenueClient) -> None:
    """Lets a client that can measure the venue's clock do so (a failure leaves it as it was:
    the retry will say)."""
    resync = getattr(client, "resync_clock", None)
    if resync is not None:
        with contextlib.suppress(Exception):
            await resync()


def _final_status(filled: Decimal, amount: Decimal) -> ExecutionStatus:
    """How an execution of ``amount`` that filled ``filled`` (exactly, over all its attempts)
    ended, once none of its attempts is unknown."""
    if filled == amount:
        return ExecutionStatus.FILLED
    return ExecutionStatus.PARTIAL if filled else ExecutionStatus.FAILED


def _filled_outcome(filled: Decimal, amount: Decimal) -> AttemptOutcome:
    if filled == amount:
        return AttemptOutcome.FILLED
    return AttemptOutcome.PARTIAL if filled else AttemptOutcome.NOT_FILLED


def _no_route_reason(error: NoRouteError, constrained: NoRouteError | None, sent: bool) -> str:
    """Why the execution stopped: nothing (more) could be routed, not even in an emergency."""
    why = str(error) if constrained is None else f"{constrained}; and no healthy venue: {error}"
    return f"no venue for the rest: {why}" if sent else why


def _remainder(
    order: OrderRequest, remaining: Decimal, excluded: set[str], *, anywhere: bool = False
) -> OrderRequest:
    """The order for what remains, without the venues that failed (a failed venue is no longer
    a preference); ``anywhere``: as a split over any venue it does not exclude (the emergency
    stage). Raises :class:`NoRouteError` when the order allows only preferred venues and every
    one of them has failed."""
    if not anywhere and remaining == order.amount and excluded == set(order.excluded_exchanges):
        return order  # the first decision: the order as it was given
    preferred = [name for name in order.preferred_exchanges if name not in excluded]
    only_preferred = order.only_preferred and not anywhere
    if only_preferred and not preferred:
        raise NoRouteError(
            "no venue available: every preferred exchange failed "
            f"({', '.join(order.preferred_exchanges)}) and the order is only_preferred",
            reason=NoRouteReason.NO_VENUE_AVAILABLE,
            order=order,
        )
    return OrderRequest(
        order.symbol,
        order.side,
        remaining,
        order_type=order.order_type,
        limit_price=order.limit_price,
        strategy=RoutingStrategy.SPLIT if anywhere else order.strategy,
        max_slippage_bps=order.max_slippage_bps,
        preferred_exchanges=preferred,
        excluded_exchanges=sorted(excluded),
        only_preferred=only_preferred,
        client_id=order.client_id,
    )


def _average_price(decision: RoutingDecision) -> Decimal:
    quantity = total(part.quantity for part in decision.parts)
    return APPROX.divide(total(part.notional for part in decision.parts), quantity)
