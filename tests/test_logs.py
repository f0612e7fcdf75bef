"""A call the database or a time-out failed logs one line; any other unhandled error its traceback."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from b24vote.logs import log_unhandled


@pytest.mark.parametrize(
    ("error", "traceback"),
    [
        (OperationalError("SELECT 1", {}, Exception("server closed the connection\nunexpectedly")), False),
        (TimeoutError(), False),
        (ValueError("a bug"), True),
    ],
)
def test_outages_log_one_line_and_bugs_their_traceback(
    caplog: pytest.LogCaptureFixture, error: Exception, traceback: bool
) -> None:
    logger = logging.getLogger("b24vote.test")
    with caplog.at_level(logging.ERROR, logger="b24vote.test"):
        try:
            raise error
        except Exception as exc:
            log_unhandled(logger, exc, "vote.AttachedVote.vote")
    (record,) = caplog.records
    assert (record.exc_info is not None) is traceback
    assert "vote.AttachedVote.vote" in record.getMessage() and "\n" not in record.getMessage()
