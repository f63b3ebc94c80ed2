"""Tick to decision: from a websocket message arriving at a feed to a ``route()`` that sees it.

On the five embedded simulators (each streaming its exchange's wire protocol over a real
websocket on 127.0.0.1, 1,000-level books), each feed's message handler is followed by a
``route()`` of a 0.5 BTC buy (best execution, no cache), and the decision is checked to have
been made on the book version the message produced. Two spans per message:

- *arrival to decision*: from the moment the feed's ``recv`` returned (its own timestamp) to
  the decision: parse, apply, route;
- *publish to decision*: from the simulator beginning to publish the update (the same clock:
  one process) to the decision: also the simulator's own encoding, the websocket transfer and
  the event loop's scheduling.

Run ``python -m benches.tick_to_decision`` for the table (p50 / p99 per exchange and overall);
with ``--phases``, each message's handler and its ``route()`` are also timed apart, with a
second ``route()`` right after the first (the same decision on warm caches), and a table of
their medians follows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sor import OrderRequest
from sor.config import Settings
from sor.feeds import BookSource, Feed
from sor.routing import RouterSettings
from sor.runtime import Runtime
from sor.sim.embedded import SYMBOL, EmbeddedExchanges

ORDER = OrderRequest(SYMBOL, "buy", "0.5")


@dataclass
class Spans:
    """The measured spans of one exchange, in seconds."""

    arrival: list[float] = field(default_factory=list)
    send: list[float] = field(default_factory=list)
    unseen: int = 0
    # With phases: the message handler, the route() after it, and a second route() at once.
    handler: list[float] = field(default_factory=list)
    first_route: list[float] = field(default_factory=list)
    second_route: list[float] = field(default_factory=list)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(
    messages: int = 2_000, interval: float = 0.01, seed: int = 7, *, phases: bool = False
) -> dict[str, Spans]:
    """Runs the simulators until every exchange's feed has handled ``messages`` updates that a
    decision saw; the spans by exchange (and with ``phases``, the handler's and the routes')."""
    settings = Settings(router=RouterSettings(cache_ttl_s=0))
    exchanges = EmbeddedExchanges(seed, levels=1_000, interval=interval)
    spans: dict[str, Spans] = defaultdict(Spans)
    holder: dict[str, Runtime] = {}
    done = asyncio.Event()

    def hooked(feed: Feed, name: str) -> None:
        handle = feed.on_message
        sent_at = exchanges.sent_at(name)

        def on_message(data: bytes, now: float) -> str | None:
            handled = time.perf_counter() if phases else 0.0
            reconnect = handle(data, now)
            runtime = holder.get("runtime")
            if runtime is None:  # not live yet
                return reconnect
            routing = time.perf_counter() if phases else 0.0
            decision = runtime.router.route(ORDER)
            decided = time.monotonic()
            if phases:
                routed = time.perf_counter()
                runtime.router.route(ORDER)
                record = spans[name]
                record.handler.append(routing - handled)
                record.first_route.append(routed - routing)
                record.second_route.append(time.perf_counter() - routed)
            version = feed.book(SYMBOL).version
            seen = dict(decision.book_versions).get(name)
            record = spans[name]
            if seen is None or seen != version:
                record.unseen += 1  # the venue was not consulted (stale, or refused)
            else:
                record.arrival.append(decided - now)
                sent = sent_at()
                if sent is not None:
                    record.send.append(decided - sent)
            if all(len(spans[n].arrival) >= messages for n in exchanges.names):
                done.set()
            return reconnect

        feed.on_message = on_message  # type: ignore[method-assign]

    def feeds() -> Mapping[str, BookSource]:
        made = {}
        for name, adapter in exchanges.adapters().items():
            feed = Feed(adapter, settings.feeds)
            hooked(feed, name)
            made[name] = feed
        return made

    runtime = Runtime(
        exchanges.venues(),
        feeds,
        settings=settings,
        services=(exchanges,),
        health=exchanges.health(),
    )
    async with runtime:
        holder["runtime"] = runtime
        await asyncio.wait_for(done.wait(), timeout=600)
    return dict(spans)


def table(spans: Mapping[str, Spans]) -> str:
    """The spans as the README's Markdown table (microseconds)."""
    rows = [
        "| exchange | decisions | arrival to decision p50 | p99 | publish to decision p50 | p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    every_arrival = [s for record in spans.values() for s in record.arrival]
    every_send = [s for record in spans.values() for s in record.send]
    for name, record in [*sorted(spans.items()), ("all", Spans(every_arrival, every_send))]:
        rows.append(
            f"| {name} | {len(record.arrival):,} |"
            f" {_percentile(record.arrival, 0.5) * 1e6:,.0f} us |"
            f" {_percentile(record.arrival, 0.99) * 1e6:,.0f} us |"
            f" {_percentile(record.send, 0.5) * 1e6:,.0f} us |"
            f" {_percentile(record.send, 0.99) * 1e6:,.0f} us |"
        )
    return "\n".join(rows)


def phase_table(spans: Mapping[str, Spans]) -> str:
    """The medians of the phases (microseconds), as a Markdown table."""
    rows = [
        "| exchange | handler p50 | first route() p50 | second route() p50 |",
        "|---|---:|---:|---:|",
    ]
    for name, record in sorted(spans.items()):
        medians = (record.handler, record.first_route, record.second_route)
        rows.append(
            f"| {name} | "
            + " | ".join(f"{statistics.median(m) * 1e6:,.1f} us" for m in medians)
            + " |"
        )
    return "\n".join(rows)


def main() -> int:
    """Measures and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2_000, help="decisions per exchange")
    parser.add_argument(
        "--phases", action="store_true", help="also time the handler and the routes apart"
    )
    options = parser.parse_args()
    spans = asyncio.run(measure(options.messages, phases=options.phases))
    print(table(spans))
    if options.phases:
        print()
        print(phase_table(spans))
    median = statistics.median(s for r in spans.values() for s in r.arrival) * 1e6
    print(f"\nmedian arrival to decision: {median:,.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
