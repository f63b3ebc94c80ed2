"""Running the service: the journal, the runtime and the app on uvicorn, from the settings.

:func:`serve` opens the journal (``settings.journal``), builds the runtime
(:func:`build_runtime`: the embedded simulators, the exchanges' live public books with simulated
fills, or the exchanges themselves), and runs
the app until SIGINT or SIGTERM; uvicorn then stops taking requests, lets those under way
finish (an execution writes its outcome to the journal before its answer), stops the runtime,
and the journal is closed last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import uvicorn

from sor.config import Settings
from sor.config.service import ServiceSettings
from sor.errors import ConfigError, InvalidInput
from sor.journal import Journal, open_journal
from sor.live import LIVE_EXCHANGES, live_runtime
from sor.runtime import Runtime
from sor.service.access_log import AccessLog
from sor.service.app import create_app
from sor.service.logs import log_config

__all__ = ["TOKEN_ENV", "api_token", "build_runtime", "open_configured_journal", "serve"]

#: The environment variable holding the API token when the settings do not.
TOKEN_ENV = "SOR_API_TOKEN"

log = logging.getLogger("sor.service")


def api_token(service: ServiceSettings, env: Mapping[str, str] | None = None) -> str | None:
    """The token ``POST /api/execute`` requires: ``service.token``, else ``$SOR_API_TOKEN``
    (checked like the setting; raises :class:`sor.ConfigError` naming the variable, never its
    value)."""
    if service.token is not None:
        return service.token
    value = (os.environ if env is None else env).get(TOKEN_ENV) or None
    if value is not None:
        try:
            ServiceSettings(token=value)
        except InvalidInput as error:
            raise ConfigError([f"{TOKEN_ENV}: {str(error).removeprefix('token: ')}"]) from None
    return value


def open_configured_journal(settings: Settings) -> Journal:
    """The journal ``settings.journal`` names: a SQLite file, or a PostgreSQL database that
    several instances share."""
    journal = settings.journal
    postgres = journal.url.startswith(("postgresql://", "postgres://"))
    return open_journal(
        journal.url,
        lease_s=journal.lease_s,
        instance_id=journal.instance_id or None,
        synchronous=None if postgres else journal.synchronous,
    )


async def build_runtime(settings: Settings, journal: Journal, *, paper: bool = False) -> Runtime:
    """The runtime ``sor serve`` runs: with no exchange in ``service.exchanges``, the five
    embedded simulators with simulated clients; with ``paper``, the exchanges' live public books
    (all five when none is named) with simulated fills; otherwise the exchanges themselves,
    trading through ccxt with the credentials of the environment."""
    service = settings.service
    names = service.exchange_list
    if not names and not paper:
        return Runtime.embedded(settings, journal=journal)
    chosen = names or list(LIVE_EXCHANGES)
    unknown = [name for name in chosen if name not in LIVE_EXCHANGES]
    if unknown:
        raise ConfigError(
            [f"service.exchanges: no native feed for {', '.join(unknown)}"
             f" (known: {', '.join(LIVE_EXCHANGES)})"]
        )  # fmt: skip
    return await live_runtime(
        settings,
        chosen,
        service.symbol_list,
        journal=journal,
        trade_env=None if paper else os.environ,
    )


async def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    paper: bool = False,
    runtime_factory: Callable[[Settings, Journal], Runtime] | None = None,
    on_ready: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Runs the service until it is told to stop (SIGINT, SIGTERM). ``host`` and ``port``
    override ``settings.service``; ``runtime_factory`` replaces :func:`build_runtime`;
    ``on_ready`` is called with the server once it listens."""
    service = replace(
        settings.service,
        host=settings.service.host if host is None else host,
        port=settings.service.port if port is None else port,
    )
    token = api_token(service)
    journal = open_configured_journal(settings)
    try:
        if runtime_factory is None:
            runtime = await build_runtime(settings, journal, paper=paper)
        else:
            runtime = runtime_factory(settings, journal)
        app = create_app(runtime, token=token)
        # sor's access log (batched writes) in place of uvicorn's (a record per request).
        access = AccessLog(app, json_lines=service.log_json) if service.access_log else None
        config = uvicorn.Config(
            app if access is None else access,
            host=service.host,
            port=service.port,
            log_config=log_config(service.log_json),
            lifespan="on",
            access_log=False,
        )
        server = _Server(config)
        if on_ready is not None:
            _notify_when_started(server, on_ready)
        if token is None:
            log.warning("no API token configured: POST /api/execute is refused (%s)", TOKEN_ENV)
        try:
            await server.serve()
        finally:
            if access is not None:
                access.flush()
    finally:
        journal.close()


class _Server(uvicorn.Server):
    """uvicorn's server, whose SIGINT or SIGTERM ends :func:`serve` normally once the shutdown
    is done (uvicorn raises the signal again afterwards, which would kill the process before
    the journal is closed, with a signal's exit status)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Handles SIGINT and SIGTERM as uvicorn does (a graceful shutdown; a second SIGINT
        forces it) while serving, then restores the handlers; nothing is raised again."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _notify_when_started(
    server: uvicorn.Server, on_ready: Callable[[uvicorn.Server], None]
) -> None:
    startup = server.startup

    async def started(sockets: object = None) -> None:
        await startup(sockets)  # type: ignore[arg-type]
        if server.started:
            on_ready(server)

    server.startup = started  # type: ignore[method-assign]
