"""Logging set-up for the server: uvicorn's own loggers plus b24vote's, one format."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError

__all__ = ["log_config", "log_unhandled"]


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


def log_unhandled(logger: logging.Logger, exc: Exception, where: str) -> None:
    """An error no method answered: one line when the database or a time-out failed the call (an outage would
    otherwise print a traceback for every call), the traceback for anything else."""
    if isinstance(exc, (OperationalError, TimeoutError)):
        first = str(exc).splitlines()[0] if str(exc) else ""
        logger.error("%s failed: %s: %s", where, type(exc).__name__, first)
    else:
        logger.exception("unhandled error in %s", where)
