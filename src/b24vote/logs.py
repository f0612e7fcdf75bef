"""Logging set-up for the server: uvicorn's own loggers plus b24vote's, one format."""

from __future__ import annotations

from typing import Any

__all__ = ["log_config"]


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict; uvicorn's access log stays off (it would print webhook codes)."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "b24vote": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }
