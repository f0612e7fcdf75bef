"""The command line, in-process (typer's runner) against both backends."""

from __future__ import annotations

import shlex
from pathlib import Path

import orjson
from starlette.testclient import TestClient
from typer.testing import CliRunner

from b24vote.app import create_app
from b24vote.cli import app as cli
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.helpers.wire import assert_b24_error, assert_envelope

runner = CliRunner()


def run(db: Database, *args: str) -> str:
    result = runner.invoke(cli, [*args, "--database-url", db.url.render_as_string(hide_password=False)])
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(db: Database, *args: str) -> dict[str, object]:
    return orjson.loads(run(db, *args, "--json"))


def test_init_demo_creates_a_working_portal_once(db: Database) -> None:
    created = run_json(db, "init", "--demo")
    assert created["created"] is True and created["user_ids"] == [1, 2, 3]
    url = str(created["webhook_url"])
    assert url.startswith("http://127.0.0.1:8000/rest/1/") and url.endswith("/")
    code = url.rstrip("/").rsplit("/", 1)[-1]
    assert len(code) == 16 and code.isalnum()
    again = run_json(db, "init", "--demo")
    assert again == {"created": False, "language": "ru"}
    text = run(db, "init", "--demo")
    assert "exists already" in text

    settings = Settings.from_env({}, database_url=str(db.url), secret_key="k", rate_limit=None)
    with TestClient(create_app(settings, db=db)) as client:
        path = url.removeprefix("http://127.0.0.1:8000")
        me = assert_envelope(client.get(path + "user.current.json"))
        assert me["ID"] == "1" and me["NAME"] == "Anna"
        members = assert_envelope(client.post(path + "im.chat.user.list", json={"CHAT_ID": created["chat_id"]}))
        assert members == [1, 2, 3]


def test_init_demo_prints_calls_that_answer(db: Database) -> None:
    created = run_json(db, "init", "--demo")
    poll = created["poll"]
    assert isinstance(poll, dict) and poll["attach_id"] == 1 and len(poll["answer_ids"]) == 2
    calls = created["curl"]
    assert isinstance(calls, list) and len(calls) == 3
    text = run(db, "init")  # a plain init on a portal leaves it as it is
    assert "database ready" in text

    settings = Settings.from_env({}, database_url=str(db.url), secret_key="k", rate_limit=None)
    replies = {}
    with TestClient(create_app(settings, db=db)) as client:
        for line in calls:
            words = shlex.split(line)
            assert words[:2] == ["curl", "-s"]
            path = words[2].removeprefix("http://127.0.0.1:8000")
            body = words[words.index("-d") + 1] if "-d" in words else ""
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            method = path.rsplit("/", 1)[-1].removesuffix(".json")
            replies[method] = assert_envelope(client.post(path, content=body, headers=headers))
    assert replies["user.current"]["ID"] == "1"
    assert replies["vote.AttachedVote.get"]["attach"]["ID"] == poll["attach_id"]
    voted = replies["vote.AttachedVote.vote"]["attach"]
    assert voted["isVoted"] is True and voted["COUNTER"] == 1
    question, answer = str(poll["question_id"]), str(poll["answer_ids"][0])
    assert list(voted["userAnswerMap"]) == [question] and list(voted["userAnswerMap"][question]) == [answer]


def test_init_plain_prints_human_text(db: Database) -> None:
    created = run(db, "init", "--demo")
    assert "Webhook URL: http://127.0.0.1:8000/rest/1/" in created
    assert "curl -s http://127.0.0.1:8000/rest/1/" in created and "user.current.json" in created
    assert "vote.AttachedVote.vote.json -d 'attachId=1&ballot[1][]=1'" in created


def test_user_chat_webhook_commands(db: Database) -> None:
    run(db, "init")
    anna = run_json(db, "user", "add", "--name", "Anna", "--last-name", "A", "--position", "Boss", "--admin")["id"]
    bob = int(run(db, "user", "add", "--name", "Bob").strip())
    cleo = run_json(db, "user", "add", "--name", "Cleo")["id"]
    chat = run_json(db, "chat", "add", "--title", "Room", "--owner", str(anna), "--members", f"{bob}")["id"]
    joined = run_json(db, "chat", "join", str(chat), str(cleo))
    assert joined == {"chat_id": chat, "user_id": cleo, "added": True}
    hook = run_json(db, "webhook", "add", "--user", str(bob), "--scope", "im")
    assert hook["scopes"] == ["im"]
    plain_url = run(db, "webhook", "add", "--user", str(bob)).strip()
    assert plain_url.startswith(f"http://127.0.0.1:8000/rest/{bob}/")

    settings = Settings.from_env({}, database_url=str(db.url), secret_key="k", rate_limit=None)
    with TestClient(create_app(settings, db=db)) as client:
        path = str(hook["url"]).removeprefix("http://127.0.0.1:8000")
        assert assert_envelope(client.post(path + "im.chat.user.list", json={"CHAT_ID": chat})) == [anna, bob, cleo]
        assert_b24_error(client.post(path + "user.current"), "insufficient_scope", 403)


def test_cli_errors_are_clear(db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    for args, needle in (
        (["webhook", "add", "--user", "77"], "no such user"),
        (["webhook", "add", "--user", "1", "--scope", "crm"], "unknown scope"),
        (["chat", "add", "--title", "x", "--owner", "77"], "no such user"),
        (["chat", "join", "77", "1"], "no such chat"),
        (["chat", "add", "--title", "x", "--owner", "1", "--members", "a,b"], "not a list"),
        (["user", "add", "--name", " "], "must not be empty"),
    ):
        result = runner.invoke(cli, [*args, "--database-url", url])
        assert result.exit_code != 0
        assert needle in result.output, result.output


def test_bad_database_url_names_the_variable() -> None:
    result = runner.invoke(cli, ["init", "--database-url", "mysql://x/y"])
    assert result.exit_code == 2
    assert "B24VOTE_DATABASE_URL" in result.output


def test_bad_setting_names_the_variable() -> None:
    result = runner.invoke(cli, ["init"], env={"B24VOTE_RATE_LIMIT": "fast"})
    assert result.exit_code == 2
    assert "B24VOTE_RATE_LIMIT" in result.output
    result = runner.invoke(cli, ["init"], env={"B24VOTE_LANGUAGE": "fr"})
    assert result.exit_code == 2
    assert "B24VOTE_LANGUAGE='fr': expected one of en, ru" in result.output


def test_init_shows_the_language(db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    plain = runner.invoke(cli, ["init", "--database-url", url], env={"B24VOTE_LANGUAGE": "en"})
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[-1] == "portal language: en (B24VOTE_LANGUAGE)"
    made = runner.invoke(cli, ["init", "--demo", "--json", "--database-url", url], env={"B24VOTE_LANGUAGE": "EN"})
    assert orjson.loads(made.stdout)["language"] == "en"
    assert run_json(db, "init")["language"] == "ru"  # the default
    assert run(db, "init", "--demo").splitlines()[-1] == "portal language: ru (B24VOTE_LANGUAGE)"


def test_init_shows_the_language_the_seed_document_chose(db: Database, tmp_path: Path) -> None:
    assert "portal language: ru (B24VOTE_LANGUAGE)" in run(db, "init")
    world = tmp_path / "world.yaml"
    world.write_text("language: en\nusers: [{name: Anna}]\n")
    run(db, "seed", str(world))
    assert "portal language: en (the portal's seed document)" in run(db, "init")
    assert run_json(db, "init")["language"] == "en"
