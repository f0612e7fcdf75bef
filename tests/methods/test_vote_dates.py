"""Poll end dates follow the portal's calendar: ten calendar years for a new poll, one for ``resume``.

../shared/reference/notes/vote-semantics.md §4.1 (DATE_END = now + 10 years) and §4.8 (resume: now + 1 year);
PHP adds years on the calendar, and 29 February of a year without one becomes 1 March.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, call, send_poll

SECOND = timedelta(seconds=1)


def finished(client: TestClient, portal: Portal, poll: ChatPoll) -> bool:
    attach = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    return bool(attach["isFinished"])


def ends_at(client: TestClient, portal: Portal, clock: FrozenClock, poll: ChatPoll, end: datetime) -> None:
    """Open a second before ``end``, finished at ``end`` (the clock is left at ``end``)."""
    clock.set(end - SECOND)
    assert finished(client, portal, poll) is False
    clock.set(end)
    assert finished(client, portal, poll) is True


def test_a_new_poll_ends_ten_calendar_years_later_counting_leap_days(
    app_client: TestClient, portal: Portal, clock: FrozenClock
) -> None:
    # 3,650 days would end on 2036-11-27 and 3,652 on 2036-11-29: three 29 Februaries lie between.
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    poll = send_poll(app_client, portal)
    ends_at(app_client, portal, clock, poll, datetime(2036, 11, 30, 9, 0, tzinfo=UTC))


def test_resume_reopens_for_one_calendar_year(app_client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    poll = send_poll(app_client, portal)
    clock.set(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))  # 2028 is a leap year: 366 days to 2028-03-01
    call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
    call(app_client, portal, "vote.AttachedVote.resume", attachId=poll.attach_id)
    ends_at(app_client, portal, clock, poll, datetime(2028, 3, 1, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("resumed", "end"),
    [
        # 29 February at 12:00 in the portal's +03:00: a year later there is none, so 1 March, as PHP counts.
        (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), datetime(2029, 3, 1, 9, 0, tzinfo=UTC)),
        # 22:30 UTC on 29 February is already 1 March at 01:30 on the portal's calendar: 1 March a year later.
        (datetime(2028, 2, 29, 22, 30, tzinfo=UTC), datetime(2029, 2, 28, 22, 30, tzinfo=UTC)),
        # 28 February at 22:30 UTC is 29 February on the portal's calendar.
        (datetime(2028, 2, 28, 22, 30, tzinfo=UTC), datetime(2029, 2, 28, 22, 30, tzinfo=UTC)),
    ],
)
def test_a_year_from_29_february_on_the_portals_calendar(
    app_client: TestClient, portal: Portal, clock: FrozenClock, resumed: datetime, end: datetime
) -> None:
    poll = send_poll(app_client, portal)
    clock.set(resumed)
    call(app_client, portal, "vote.AttachedVote.resume", attachId=poll.attach_id)
    ends_at(app_client, portal, clock, poll, end)


def test_a_poll_made_on_29_february_ends_on_1_march_ten_years_later(
    app_client: TestClient, portal: Portal, clock: FrozenClock
) -> None:
    clock.set(datetime(2028, 2, 29, 9, 0, tzinfo=UTC))
    poll = send_poll(app_client, portal)
    ends_at(app_client, portal, clock, poll, datetime(2038, 3, 1, 9, 0, tzinfo=UTC))
