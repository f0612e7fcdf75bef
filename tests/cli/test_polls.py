"""``b24vote poll add`` and ``b24vote export``, in-process, against the HTTP API on both backends."""

from __future__ import annotations

from contextlib import chdir
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from b24vote.cli import app as cli
from b24vote.clock import FrozenClock
from b24vote.domain.polls import BLOG_ENTITY_TYPE
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.reports import call, cast, chat_poll, csv_rows, xlsx_rows

runner = CliRunner()

FEED_POLL = {
    "QUESTIONS": [
        {"QUESTION": "Куда едем?", "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": "Горы"}, {"MESSAGE": "Море"}]},
        {
            "QUESTION": "Что берём?",
            "FIELD_TYPE": 1,
            "ANSWERS": [{"MESSAGE": "Палатку"}, {"MESSAGE": "Гитару"}, {"MESSAGE": "Кота"}],
        },
    ],
    "ANONYMITY": 1,
    "OPTIONS": 1,
}


def invoke(db: Database, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(cli, [*args, "--database-url", db.url.render_as_string(hide_password=False)], env=env)


def run(db: Database, *args: str) -> str:
    result = invoke(db, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(db: Database, *args: str) -> str:
    result = invoke(db, *args)
    assert result.exit_code == 1, result.output
    return result.output


def _poll_file(tmp_path: Path, data: Any = FEED_POLL) -> str:
    path = tmp_path / "poll.json"
    path.write_bytes(orjson.dumps(data))
    return str(path)


@pytest.fixture
def live_clock(clock: FrozenClock) -> FrozenClock:
    """The CLI stamps polls with the real time: move the server's clock past it so they are open."""
    clock.set(datetime.now(UTC) + timedelta(minutes=1))
    return clock


def test_poll_add_makes_a_multi_question_feed_poll(
    app_client: TestClient, portal: Portal, db: Database, tmp_path: Path, live_clock: FrozenClock
) -> None:
    made = orjson.loads(
        run(
            db,
            "poll",
            "add",
            "--module",
            "blog",
            "--entity-id",
            "501",
            "--from",
            _poll_file(tmp_path),
            "--author",
            str(portal.admin),
            "--json",
        )
    )
    assert set(made) == {"attachId", "voteId"}
    attach = call(
        app_client,
        portal.url("vote.AttachedVote.get", portal.bob_hook),
        moduleId="blog",
        entityType=BLOG_ENTITY_TYPE,
        entityId=501,
    )["attach"]
    assert attach["ID"] == made["attachId"] and attach["VOTE_ID"] == made["voteId"]
    assert attach["entityId"] == 501 and attach["canVote"] is True and attach["isFinished"] is False
    assert [q["QUESTION"] for q in attach["QUESTIONS"].values()] == ["Куда едем?", "Что берём?"]
    assert [q["FIELD_TYPE"] for q in attach["QUESTIONS"].values()] == ["0", "1"]

    cast(app_client, portal.bob_hook, attach, "Море", "Палатку", "Кота")
    after = call(app_client, portal.url("vote.AttachedVote.get", portal.bob_hook), attachId=made["attachId"])["attach"]
    first, second = after["QUESTIONS"].values()
    assert after["COUNTER"] == 1 and first["COUNTER"] == "1" and second["COUNTER"] == "1"
    assert [a["COUNTER"] for a in second["ANSWERS"].values()] == ["1", "0", "1"]
    assert set(after["userAnswerMap"]) == set(after["QUESTIONS"])
    # The author may edit it; others may not.
    assert after["canEdit"] is False
    mine = call(app_client, portal.url("vote.AttachedVote.get"), attachId=made["attachId"])["attach"]
    assert mine["canEdit"] is True


def test_poll_add_plain_output_and_errors(db: Database, portal: Portal, tmp_path: Path) -> None:
    plain = run(db, "poll", "add", "--entity-id", "9", "--from", _poll_file(tmp_path), "--author", str(portal.admin))
    assert set(orjson.loads(plain)) == {"attachId", "voteId"}
    poll_file = _poll_file(tmp_path)
    assert "has a poll already" in fails(db, "poll", "add", "--entity-id", "9", "--from", poll_file)
    assert "--module must be one of: blog" in fails(
        db, "poll", "add", "--module", "im", "--entity-id", "1", "--from", poll_file
    )
    assert "no such user: 424242" in fails(
        db, "poll", "add", "--entity-id", "2", "--from", poll_file, "--author", "424242"
    )
    assert "positive" in fails(db, "poll", "add", "--entity-id", "0", "--from", poll_file)
    assert "cannot read" in fails(db, "poll", "add", "--entity-id", "3", "--from", str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert "not valid JSON" in fails(db, "poll", "add", "--entity-id", "3", "--from", str(broken))
    no_answers = _poll_file(tmp_path, {"QUESTIONS": [{"QUESTION": "Пусто?", "ANSWERS": []}]})
    assert "VOTE_ANSWERS_EMPTY" in fails(db, "poll", "add", "--entity-id", "3", "--from", no_answers)
    nothing = _poll_file(tmp_path, {"QUESTIONS": []})
    assert "VOTE_INTEGRATION_IM_QUESTIONS_EMPTY" in fails(db, "poll", "add", "--entity-id", "3", "--from", nothing)
    assert "QUESTIONS" in fails(db, "poll", "add", "--entity-id", "3", "--from", _poll_file(tmp_path, [1, 2]))


def test_poll_delete_removes_a_feed_poll_with_its_ballots(
    app_client: TestClient, portal: Portal, db: Database, tmp_path: Path, live_clock: FrozenClock
) -> None:
    poll_file = _poll_file(tmp_path)
    made = orjson.loads(run(db, "poll", "add", "--entity-id", "77", "--from", poll_file, "--json"))
    attach = call(app_client, portal.url("vote.AttachedVote.get", portal.bob_hook), attachId=made["attachId"])["attach"]
    cast(app_client, portal.bob_hook, attach, "Горы", "Гитару")
    assert orjson.loads(run(db, "poll", "delete", str(made["attachId"]), "--json")) == {
        "deleted": made["attachId"],
        "voteId": made["voteId"],
    }
    by_entity = {"moduleId": "blog", "entityType": BLOG_ENTITY_TYPE, "entityId": 77}
    for address in ({"attachId": made["attachId"]}, by_entity):
        resp = app_client.post(portal.url("vote.AttachedVote.get"), json=address)
        assert resp.status_code == 400 and resp.json()["error"] == "ATTACH_NOT_FOUND"
    assert app_client.get(attach["resultUrl"]).status_code == 404
    # The post may get a new poll; a deleted or unknown attach, or a chat poll, is refused.
    again = orjson.loads(run(db, "poll", "add", "--entity-id", "77", "--from", poll_file, "--json"))
    assert f"deleted feed poll {again['attachId']}" in run(db, "poll", "delete", str(again["attachId"]))
    assert f"no such attach: {made['attachId']}" in fails(db, "poll", "delete", str(made["attachId"]))
    chat = chat_poll(app_client, portal, [("Чат?", 0, ["Да", "Нет"])])
    refused = fails(db, "poll", "delete", str(chat["ID"]))
    assert f"chat poll: it goes with its message (im.message.delete, MESSAGE_ID={chat['entityId']})" in refused


@pytest.mark.parametrize("fmt", ["xls", "csv"])
def test_export_writes_the_bytes_the_api_sends(
    app_client: TestClient, portal: Portal, db: Database, tmp_path: Path, fmt: str
) -> None:
    attach = chat_poll(app_client, portal, [("Когда созвон?", 1, ["Утром", "Вечером", "<никогда> & всегда"])])
    cast(app_client, portal.bob_hook, attach, "Утром", "<никогда> & всегда")
    cast(app_client, portal.hook, attach, "Вечером")
    downloaded = app_client.get(attach["downloadUrl"] + f"&format={fmt}")
    assert downloaded.status_code == 200

    target = tmp_path / f"report.{fmt}"
    out = run(db, "export", str(attach["ID"]), "--format", fmt, "-o", str(target))
    assert out.strip() == str(target)
    assert target.read_bytes() == downloaded.content

    folder = tmp_path / "cwd"
    folder.mkdir()
    with chdir(folder):
        made = orjson.loads(run(db, "export", str(attach["ID"]), "--format", fmt, "--json"))
        default = folder / f"vote{attach['VOTE_ID']}.{fmt}"
        assert made == {"path": str(default), "voteId": attach["VOTE_ID"], "format": fmt}
        assert default.read_bytes() == downloaded.content


def test_export_xlsx_and_stdout(app_client: TestClient, portal: Portal, db: Database, tmp_path: Path) -> None:
    attach = chat_poll(app_client, portal, [("Чай или кофе?", 0, ["Чай", "Кофе"])])
    cast(app_client, portal.bob_hook, attach, "Кофе")
    target = tmp_path / "r.xlsx"
    run(db, "export", str(attach["ID"]), "--format", "xlsx", "-o", str(target))
    api = app_client.post(portal.url("vote.AttachedVote.download"), json={"attachId": attach["ID"], "format": "xlsx"})
    assert xlsx_rows(target.read_bytes()) == xlsx_rows(api.content)
    assert xlsx_rows(target.read_bytes())[2] == ["", "Кофе", "1", "Boris Belov"]

    assert "cannot write" in fails(db, "export", str(attach["ID"]), "-o", str(tmp_path))
    assert tmp_path.is_dir()

    piped = invoke(db, "export", str(attach["ID"]), "--format", "csv", "-o", "-")
    assert piped.exit_code == 0, piped.output
    assert csv_rows(piped.stdout_bytes) == csv_rows(
        app_client.post(
            portal.url("vote.AttachedVote.download"), json={"attachId": attach["ID"], "format": "csv"}
        ).content
    )


def test_export_errors(db: Database, tmp_path: Path) -> None:
    run(db, "init")
    assert "no such attach: 31337" in fails(db, "export", "31337")
    assert "xls, xlsx or csv" in fails(db, "export", "1", "--format", "pdf")


def test_export_and_poll_errors_follow_the_language(
    app_client: TestClient, portal: Portal, db: Database, tmp_path: Path
) -> None:
    english = {"B24VOTE_LANGUAGE": "en"}
    attach = chat_poll(app_client, portal, [("Чай или кофе?", 0, ["Чай", "Кофе"])], anonymity=2)
    cast(app_client, portal.bob_hook, attach, "Кофе")
    piped = invoke(db, "export", str(attach["ID"]), "--format", "csv", "-o", "-", env=english)
    assert piped.exit_code == 0, piped.output
    rows = csv_rows(piped.stdout_bytes)
    assert rows[2] == ["", "Кофе", "1", "Anonymous"] and rows[4] == ["Date", "User", "Чай или кофе?"]
    no_answers = _poll_file(tmp_path, {"QUESTIONS": [{"QUESTION": "Empty?", "ANSWERS": []}]})
    refused = invoke(db, "poll", "add", "--entity-id", "3", "--from", no_answers, env=english)
    assert refused.exit_code == 1
    assert "VOTE_ANSWERS_EMPTY: No answer options given for the question “Empty?”" in refused.output
