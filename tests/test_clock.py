"""How b24vote prints time: ``iso`` keeps the last second it printed per time zone, and must never let that show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from b24vote.clock import iso

ZONES = st.sampled_from([timezone(timedelta(hours=h, minutes=m)) for h, m in ((3, 0), (0, 0), (-5, 0), (5, 30))])
# hypothesis wants naive bounds for aware datetimes: the zone comes from `timezones`.
MOMENTS = st.datetimes(
    min_value=datetime(1960, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(st.lists(st.tuples(MOMENTS, ZONES), min_size=1, max_size=30))
def test_iso_prints_every_moment_as_the_portal_does_in_any_order(moments: list[tuple[datetime, timezone]]) -> None:
    for when, tz in moments:
        assert iso(when, tz) == when.astimezone(tz).replace(microsecond=0).isoformat()


def test_the_same_second_twice_and_the_next_one() -> None:
    tz = timezone(timedelta(hours=3))
    first = datetime(2026, 11, 30, 9, 0, 0, 100, tzinfo=UTC)
    assert iso(first, tz) == "2026-11-30T12:00:00+03:00"
    assert iso(first + timedelta(microseconds=999_000), tz) == "2026-11-30T12:00:00+03:00"
    assert iso(first + timedelta(seconds=1), tz) == "2026-11-30T12:00:01+03:00"
    assert iso(first, UTC) == "2026-11-30T09:00:00+00:00"
