"""Drive b24vote with fast-bitrix24, unmodified, in a process of its own; prints one JSON object.

Run by tests/clients/test_fast_bitrix24.py as ``python fast_driver.py SCENARIO WEBHOOK_URL [ARGS…]`` with
``SSL_CERT_FILE`` pointing at the test CA. It is a separate process because aiohttp builds its default TLS
context when it is imported, so the variable must be set before the interpreter starts — as for a user's
own script. Any failure raises, and the non-zero exit code fails the test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import warnings
from typing import Any

from fast_bitrix24 import Bitrix, BitrixAsync

CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"
POLL = {
    "QUESTIONS": [
        {"QUESTION": "Какой SDK?", "FIELD_TYPE": 1, "ANSWERS": [{"MESSAGE": "fast"}, {"MESSAGE": "b24pysdk"}]},
    ],
    "ANONYMITY": 1,
    "OPTIONS": 1,
}


def send_poll(bx: Bitrix, chat_id: int) -> dict[str, Any]:
    """A poll created with raw calls: its message, attach, question and answer ids."""
    sent = bx.call("vote.Integration.Im.send", {"chatId": chat_id, "IM_MESSAGE_VOTE_DATA": POLL}, raw=True)["result"]
    got = bx.call(
        "vote.AttachedVote.get", {"moduleId": "im", "entityType": CONNECTOR, "entityId": sent["messageId"]}, raw=True
    )
    attach = got["result"]["attach"]
    ((question_id, question),) = attach["QUESTIONS"].items()
    return {
        "message_id": sent["messageId"],
        "attach_id": attach["ID"],
        "question_id": question_id,
        "answer_ids": [int(a) for a in question["ANSWERS"]],
    }


def every_method(bx: Bitrix, poll: dict[str, Any], raw: bool) -> dict[str, Any]:
    """Each vote method once, in an order that leaves the poll as it was; ``raw=False`` goes through batch."""
    attach = {"attachId": poll["attach_id"]}
    ballot = {poll["question_id"]: poll["answer_ids"]}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("send", "vote.Integration.Im.send", {"chatId": poll["chat_id"], "IM_MESSAGE_VOTE_DATA": POLL}),
        ("get", "vote.AttachedVote.get", attach),
        ("vote", "vote.AttachedVote.vote", {**attach, "ballot": ballot}),
        (
            "getMany",
            "vote.AttachedVote.getMany",
            {"moduleId": "im", "entityType": CONNECTOR, "entityIds": [poll["message_id"]]},
        ),
        ("getWithVoted", "vote.AttachedVote.getWithVoted", attach),
        ("getAnswerVoted", "vote.AttachedVote.getAnswerVoted", {**attach, "answerId": poll["answer_ids"][0]}),
        ("recall", "vote.AttachedVote.recall", attach),
        ("stop", "vote.AttachedVote.stop", attach),
        ("resume", "vote.AttachedVote.resume", attach),
    ]
    return {name: bx.call(method, params, raw=raw) for name, method, params in calls}


def methods(url: str, chat_id: str) -> dict[str, Any]:
    bx = Bitrix(url, verbose=False)
    poll = {**send_poll(bx, int(chat_id)), "chat_id": int(chat_id)}
    return {"poll": poll, "raw": every_method(bx, poll, raw=True), "batched": every_method(bx, poll, raw=False)}


def batching(url: str, chat_id: str) -> dict[str, Any]:
    bx = Bitrix(url, verbose=False)
    polls = [send_poll(bx, int(chat_id)) for _ in range(3)]
    attach_ids = [p["attach_id"] for p in polls]
    first = polls[0]
    listed = bx.call("vote.AttachedVote.get", [{"attachId": a} for a in attach_ids])
    by_id = bx.get_by_ID("vote.AttachedVote.get", attach_ids, "attachId")
    cmd = {
        "vote": f"vote.AttachedVote.vote?attachId={first['attach_id']}"
        + "".join(f"&ballot[{first['question_id']}][{i}]={a}" for i, a in enumerate(first["answer_ids"])),
        "many": "vote.AttachedVote.getMany?moduleId=im&entityType=Bitrix%5CVote%5CAttachment%5CImMessageConnector"
        + "".join(f"&entityIds[]={p['message_id']}" for p in polls),
    }
    batch = bx.call_batch({"halt": 0, "cmd": cmd})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        voters = bx.get_all(
            "vote.AttachedVote.getAnswerVoted", {"attachId": first["attach_id"], "answerId": first["answer_ids"][0]}
        )
    return {
        "attach_ids": attach_ids,
        "listed": listed,
        "by_id": by_id,
        "batch": batch,
        "get_all": voters,
        "get_all_warnings": [str(w.message) for w in caught],
    }


def paging(url: str, attach_id: str, answer_id: str) -> dict[str, Any]:
    """get_all over more than one page: fast-bitrix24 reads ``total`` and fetches ``start=50`` in a batch."""
    bx = Bitrix(url, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its advice for methods not named *.list
        voters = bx.get_all(
            "vote.AttachedVote.getAnswerVoted", {"attachId": int(attach_id), "answerId": int(answer_id)}
        )
    return {"voter_ids": [user["ID"] for user in voters]}


def oauth(rest_base: str, *tokens: str) -> dict[str, Any]:
    """``token_func`` hands out ``tokens`` in turn; on HTTP 401 fast-bitrix24 asks it again and retries."""
    handed: list[str] = []

    async def token_func() -> str:
        handed.append(tokens[len(handed)])
        return handed[-1]

    bx = Bitrix(rest_base, token_func=token_func, verbose=False)
    params = {"moduleId": "im", "entityType": CONNECTOR, "entityIds": [10**9]}
    return {"envelope": bx.call("vote.AttachedVote.getMany", params, raw=True), "tokens_used": len(handed)}


async def _gather(url: str, pool: int, rps: float, count: int) -> list[Any]:
    bx = BitrixAsync(url, verbose=False, request_pool_size=pool, requests_per_second=rps)
    calls = [
        bx.call(
            "vote.AttachedVote.getMany", {"moduleId": "im", "entityType": CONNECTOR, "entityIds": [10**9]}, raw=True
        )
        for _ in range(count)
    ]
    return list(await asyncio.gather(*calls))


def throttle(url: str, mode: str, pool: str, rps: str, count: str) -> dict[str, Any]:
    """``count`` calls paced by the client's leaky bucket (``pool`` burst, ``rps`` per second)."""
    started = time.monotonic()
    if mode == "sequential":
        bx = Bitrix(url, verbose=False, request_pool_size=int(pool), requests_per_second=float(rps))
        params = {"moduleId": "im", "entityType": CONNECTOR, "entityIds": [10**9]}
        replies = [bx.call("vote.AttachedVote.getMany", params, raw=True) for _ in range(int(count))]
    else:
        replies = asyncio.run(_gather(url, int(pool), float(rps), int(count)))
    return {"seconds": time.monotonic() - started, "results": [r["result"] for r in replies]}


SCENARIOS = {"methods": methods, "batching": batching, "paging": paging, "oauth": oauth, "throttle": throttle}

if __name__ == "__main__":
    scenario, *args = sys.argv[1:]
    sys.stdout.write(json.dumps(SCENARIOS[scenario](*args), ensure_ascii=False) + "\n")
