"""``Portal.deliveries``: the admin API's delivery controls, typed, against the kit's served portal."""

from __future__ import annotations

import threading
from typing import Any

import httpx2 as httpx

from b24vote.testing import HandlerFailure, PendingDelivery, Portal
from tests.helpers.events import local_handler


def _call(portal: Portal, token: str, method: str, **params: Any) -> Any:
    answer = httpx.post(f"{portal.url}/rest/{method}", json={**params, "auth": token}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_list_send_now_and_fail_a_handlers_next_deliveries(b24portal: Portal) -> None:
    token = b24portal.token(b24portal.oauth_app("Hooks"), user_id=1)["access_token"]
    deliveries, hold = b24portal.deliveries, threading.Event()
    with local_handler(hold=hold) as handler:
        _call(b24portal, token, "event.bind", event="ONAPPTEST", handler=handler.url)
        deliveries.fail_next(handler.url, 2, status=503)
        assert deliveries.failing() == {handler.url: HandlerFailure(count=2, status=503)}
        _call(b24portal, token, "event.test", n="1")
        assert deliveries.send_now() == []  # failed without being sent, and no retries are configured
        assert deliveries.failing() == {handler.url: HandlerFailure(count=1, status=503)}
        deliveries.fail_next(handler.url, 0)
        assert deliveries.failing() == {}

        _call(b24portal, token, "event.test", n="2")
        assert handler.next().form["data"]["QUERY"]["n"] == "2"  # the handler holds it: not answered yet
        (waiting,) = deliveries.pending()
        assert isinstance(waiting, PendingDelivery)
        assert (waiting.handler, waiting.event, waiting.sending) == (handler.url, "ONAPPTEST", True)
        hold.set()
        assert deliveries.send_now() == [] and deliveries.pending() == []
    calls = b24portal.journal.calls("ONAPPTEST")
    assert [(c.caller_kind, c.status, c.params["attempt"]) for c in calls] == [
        ("delivery", 503, 1),
        ("delivery", 200, 1),
    ]
