"""Helpers for the report tests: make chat polls over HTTP and read a report back as rows of text."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import openpyxl
from starlette.testclient import TestClient

from b24vote.domain.poll_data import parse_poll_data
from b24vote.domain.polls import BLOG_ENTITY_TYPE, IM_ENTITY_TYPE
from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.wire import assert_envelope

Rows = list[list[str]]


def call(client: TestClient, url: str, **params: Any) -> Any:
    return assert_envelope(client.post(url, json=params))


def add_hook(db: Database, now: Any, user_id: int) -> str:
    with db.write() as conn:
        _, code = people.add_webhook(conn, now, user_id=user_id, scopes=["vote", "im", "user"])
    return f"/rest/{user_id}/{code}"


def chat_poll(
    client: TestClient,
    portal: Portal,
    questions: list[tuple[str, int, list[str]]],
    *,
    anonymity: int = 1,
) -> dict[str, Any]:
    """Post a chat poll as the admin and return its attach object."""
    data = {
        "QUESTIONS": [
            {"QUESTION": text, "FIELD_TYPE": field_type, "ANSWERS": [{"MESSAGE": a} for a in answers]}
            for text, field_type, answers in questions
        ],
        "ANONYMITY": anonymity,
        "OPTIONS": 1,
    }
    sent = call(client, portal.url("vote.Integration.Im.send"), chatId=portal.chat, IM_MESSAGE_VOTE_DATA=data)
    found = call(
        client,
        portal.url("vote.AttachedVote.get"),
        moduleId="im",
        entityType=IM_ENTITY_TYPE,
        entityId=sent["messageId"],
    )
    attach: dict[str, Any] = found["attach"]
    return attach


def blog_poll(
    db: Database, now: datetime, author: int, questions: list[tuple[str, int, list[str]]], entity_id: int = 77
) -> dict[str, Any]:
    """A feed poll stored directly, returned in the shape of an attach (ID, VOTE_ID, QUESTIONS)."""
    data = {
        "QUESTIONS": [
            {"QUESTION": text, "FIELD_TYPE": field_type, "ANSWERS": [{"MESSAGE": a} for a in answers]}
            for text, field_type, answers in questions
        ]
    }
    with db.write() as conn:
        new = parse_poll_data(data, chat=False)
        vote_id = polls.create_poll(conn, now, author_id=author, poll=new, date_end=now + timedelta(days=1))
        attach_id = polls.add_attach(
            conn,
            now,
            vote_id=vote_id,
            module_id="blog",
            entity_type=BLOG_ENTITY_TYPE,
            entity_id=entity_id,
            uid=None,
            created_by=author,
        )
        poll = polls.load_poll(conn, vote_id)
    assert poll is not None
    return {
        "ID": attach_id,
        "VOTE_ID": vote_id,
        "QUESTIONS": {
            str(q.id): {"ANSWERS": {str(a.id): {"MESSAGE": a.message} for a in q.answers}} for q in poll.questions
        },
    }


def answer_ids(attach: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Answer text → (question id, answer id)."""
    return {
        answer["MESSAGE"]: (qid, aid)
        for qid, question in attach["QUESTIONS"].items()
        for aid, answer in question["ANSWERS"].items()
    }


def cast(client: TestClient, hook: str, attach: dict[str, Any], *answers: str) -> None:
    ids = answer_ids(attach)
    ballot: dict[str, list[str]] = {}
    for text in answers:
        qid, aid = ids[text]
        ballot.setdefault(qid, []).append(aid)
    result = call(client, f"{hook}/vote.AttachedVote.vote", attachId=attach["ID"], ballot=ballot)
    assert result["attach"]["isVoted"] is True


def _trim(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row.pop()
    return row


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Rows] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(body: bytes) -> Rows:
    """Both tables, an empty row between them, as the CSV and XLSX lay them out."""
    reader = _TableReader()
    reader.feed(body.decode())
    reader.close()
    first, second = reader.tables
    return [_trim(r) for r in first] + [[]] + [_trim(r) for r in second]


def csv_rows(body: bytes) -> Rows:
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    return [_trim(r) for r in csv.reader(io.StringIO(text, newline=""))]


def xlsx_rows(body: bytes) -> Rows:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    sheet = book.worksheets[0]
    rows = [_trim(["" if v is None else str(v) for v in row]) for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def xlsx_text(body: bytes) -> bytes:
    """Every file inside the XLSX zip, uncompressed and concatenated, to search for text."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())
