"""The versioned in-process cache keeps one version per thing: a busy poll costs one entry, not one per vote."""

from __future__ import annotations

from b24vote.cache import BoundedCache


def test_a_thing_keeps_only_the_version_put_last() -> None:
    cache: BoundedCache[int, str] = BoundedCache(limit=3)
    for version in range(1, 1001):  # a poll voted on a thousand times
        cache.put(7, version, f"questions at {version}")
    assert cache.get(7, 1000) == "questions at 1000"
    assert cache.get(7, 999) is None  # superseded: a reader that saw it reads again
    assert len(cache._found) == 1
    cache.put(7, 5, "an older read landing late")  # replaces, never serves the wrong version
    assert cache.get(7, 1000) is None and cache.get(7, 5) == "an older read landing late"


def test_the_bound_drops_the_oldest_things() -> None:
    cache: BoundedCache[int, str] = BoundedCache(limit=2)
    cache.put(1, 1, "one")
    cache.put(2, 1, "two")
    cache.put(1, 2, "one again")  # a new version of a kept thing takes no new place
    cache.put(3, 1, "three")
    assert cache.get(1, 2) is None and cache.get(2, 1) == "two" and cache.get(3, 1) == "three"
    cache.clear()
    assert cache.get(2, 1) is None
