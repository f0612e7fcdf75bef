"""``b24vote reset``, ``snapshot …`` and ``seed`` on the database, in-process, on both backends."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import func, select
from typer.testing import CliRunner

from b24vote.cli import app as cli
from b24vote.storage.engine import Database
from b24vote.storage.snapshots import delete_snapshot, list_snapshots
from b24vote.storage.tables import ballots as vote_ballots
from b24vote.storage.tables import users

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "seed.yaml"


def run(db: Database, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, [*args, "--database-url", db.url.render_as_string(hide_password=False)])
    assert result.exit_code == code, result.output
    return result.output


def run_json(db: Database, *args: str) -> dict[str, object]:
    data: dict[str, object] = orjson.loads(run(db, *args, "--json"))
    return data


def _count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _no_snapshots(db: Database) -> None:
    for snapshot in list_snapshots(db):
        delete_snapshot(db, snapshot.name)


def test_seed_reset_and_snapshots(db: Database, tmp_path: Path) -> None:
    _no_snapshots(db)
    made = run_json(db, "seed", str(EXAMPLE))
    assert made["users"] == [1, 2, 3] and len(made["polls"]) == 2  # type: ignore[arg-type]
    assert _count(db, vote_ballots) == 3
    assert "saved base" in run(db, "snapshot", "save", "base")
    assert run_json(db, "reset") == {"seed": "empty"}
    assert _count(db, users) == 0
    demo = run_json(db, "reset", "--demo")  # ids continue after the seed's users 1-3: they never come back
    assert demo["user_ids"] == [4, 5, 6] and str(demo["webhook_url"]).startswith("http://127.0.0.1:8000/rest/4/")
    assert "demo webhook URL" in run(db, "reset", "--demo")
    listed = run_json(db, "snapshot", "list")["snapshots"]
    assert [s["name"] for s in listed] == ["base"]  # type: ignore[index, union-attr]
    assert "base" in run(db, "snapshot", "list")
    assert run_json(db, "snapshot", "restore", "base")["name"] == "base"
    assert _count(db, vote_ballots) == 3 and _count(db, users) == 3
    assert run_json(db, "snapshot", "delete", "base") == {"deleted": "base"}
    assert "no snapshots" in run(db, "snapshot", "list")


def test_errors(db: Database, tmp_path: Path) -> None:
    _no_snapshots(db)
    assert "no snapshot named 'nope'" in run(db, "snapshot", "restore", "nope", code=1)
    assert "no snapshot named 'nope'" in run(db, "snapshot", "delete", "nope", code=1)
    assert "snapshot name" in run(db, "snapshot", "save", "bad name", code=1)
    bad = tmp_path / "seed.json"
    bad.write_text('{"users": [{"name": "A"}], "chats": [{"title": "T", "owner": 1, "members": [9]}]}')
    assert "chats[0].members[0]: no such user 9" in run(db, "seed", str(bad), code=1)
    assert _count(db, users) == 0  # all or nothing
    bad.write_text("users: [{name: A}]")  # a .json file is read as JSON only
    assert "neither valid JSON nor YAML" in run(db, "seed", str(bad), code=1)
    assert "cannot read" in run(db, "seed", str(tmp_path / "missing.yaml"), code=1)


def test_seed_prints_what_it_made(db: Database, tmp_path: Path) -> None:
    text = run(db, "seed", str(EXAMPLE))
    assert "webhook for user 1: http://127.0.0.1:8000/rest/1/ci-anna-webhook-01/" in text
    assert "app Poll bot: client_id local." in text and "poll: vote 1" in text
