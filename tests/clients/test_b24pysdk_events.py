"""Events through b24pysdk, unmodified, against a live server over HTTPS: a failed delivery retried once the test
moves the server's clock, and the offline queue read with a ``process_id`` and cleared (docs/events.md).

The server retries a failed delivery 60 seconds later (``B24VOTE_EVENT_RETRIES=60``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from b24pysdk import BitrixToken, Client

from tests.clients.conftest import Live, Tls, live_server
from tests.clients.pysdk import oauth_token
from tests.helpers.events import local_handler

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("trust_ca")]


@pytest.fixture(scope="module")
def retrying(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder: Path = tmp_path_factory.mktemp("retrying")
    with live_server(tls, folder, B24VOTE_RATE_LIMIT="off", B24VOTE_EVENT_RETRIES="60") as server:
        yield server


def app_token(live: Live, name: str) -> BitrixToken:
    """A new application's token for the administrator (user 1), from ``b24vote token issue``."""
    return oauth_token(live, live.new_app(name), 1)


def test_a_failed_delivery_is_retried_when_the_test_moves_the_clock(retrying: Live) -> None:
    token = app_token(retrying, "Retry")
    client = Client(token, timeout=15)
    with local_handler([500]) as handler:
        assert client.event.bind("ONAPPTEST", handler.url).result is True
        assert token.call_method("event.test", {"n": "1"})["result"] == 1
        failed = handler.next().form  # answered 500
        assert handler.nothing_more()
        with retrying.clock_ahead(60):
            retried = handler.next().form  # the retry, answered 200
    assert failed["event"] == retried["event"] == "ONAPPTEST"
    assert failed["data"] == retried["data"] == {"QUERY": {"n": "1"}}
    token_sent = failed["auth"]["application_token"]
    assert len(token_sent) == 32 and retried["auth"]["application_token"] == token_sent


def test_offline_events_reserved_with_a_process_id_then_cleared(retrying: Live) -> None:
    token = app_token(retrying, "Offline")
    client = Client(token, timeout=15)
    assert client.event.bind("ONAPPTEST", event_type="offline").result is True
    # The application's own change reaches its queue only from a call made with another source key.
    for n in ("1", "2", "3"):
        assert token.call_method("event.test", {"n": n, "auth_connector": "crm"})["result"] == 1
    reserved = client.event.offline.get(clear=False, order={"ID": "ASC"}).result
    process_id = reserved["process_id"]
    ids = [int(e["ID"]) for e in reserved["events"]]
    assert process_id and [e["EVENT_DATA"]["QUERY"]["n"] for e in reserved["events"]] == ["1", "2", "3"]
    assert client.event.offline.get(clear=False).result["events"] == []  # reserved: hidden from other readers
    listed = client.event.offline.list(filter={"PROCESS_ID": process_id}).result
    assert [int(e["ID"]) for e in listed] == ids
    assert client.event.offline.clear(process_id, bitrix_id=[ids[0]]).result is True
    again = client.event.offline.get(clear=False, process_id=process_id).result
    assert [int(e["ID"]) for e in again["events"]] == ids[1:]
    assert client.event.offline.clear(process_id).result is True
    assert client.event.offline.list().result == []
