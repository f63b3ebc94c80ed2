"""The bearer token that anything placing orders requires, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, status

__all__ = ["TokenCheck"]


class TokenCheck:
    """Checks ``Authorization: Bearer <token>`` against ``token`` (None: nothing is allowed).

    The comparison takes the same time whatever the guess (``hmac.compare_digest``), and no
    error says anything about the token but that it is missing or wrong.
    """

    def __init__(self, token: str | None) -> None:
        self._token = None if token is None else token.encode()

    @property
    def configured(self) -> bool:
        """True if a token is set (otherwise every check fails)."""
        return self._token is not None

    def __call__(self, authorization: str | None) -> None:
        """Raises an HTTP 401 (403 with no token configured) unless ``authorization`` holds the
        token."""
        if self._token is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "execution over HTTP is disabled: set service.token or SOR_API_TOKEN",
            )
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid 'Authorization: Bearer <token>' header is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def __repr__(self) -> str:
        return f"TokenCheck(configured={self.configured})"
