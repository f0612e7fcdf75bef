"""ASGI entry point for servers: ``uvicorn --factory b24vote.asgi:create``."""

from __future__ import annotations

from starlette.applications import Starlette

from b24vote.app import create_app

__all__ = ["create"]


def create() -> Starlette:
    """Build the app from the environment's settings, as the process's server."""
    return create_app(serving=True)
