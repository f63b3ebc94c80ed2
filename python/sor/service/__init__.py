"""The service: ``sor serve``'s HTTP API over a runtime, its metrics, and how it runs.

:func:`create_app` is the ASGI app (FastAPI) over a :class:`sor.runtime.Runtime`;
:func:`serve` runs it on uvicorn from :class:`sor.Settings`, on the embedded simulators when no
exchange is configured.
"""

from sor.service.app import create_app
from sor.service.server import serve

__all__ = ["create_app", "serve"]
