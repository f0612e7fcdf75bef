"""Emulator commands: ``reset``, ``snapshot …`` and ``seed`` on the database; ``admin …`` on a running server.

The database commands work without a server (and a running server sees their result at once). The clock,
fault rules and journal live in the server process, so ``b24vote admin`` talks to its ``/_b24vote/`` API.
Each command imports the storage and admin code it runs only when it runs.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from b24vote.cli._common import DbUrl, Json, database, emit, fail, now, settings

__all__ = ["admin_app", "register", "snapshot_app"]

snapshot_app = typer.Typer(help="Named snapshots of the whole portal, kept in the database.")
admin_app = typer.Typer(help="Clock, fault rules and journal of a running server (needs B24VOTE_ADMIN_TOKEN).")
faults_app = typer.Typer(help="Fault rules: make matching REST calls fail, slow down or drop.")
admin_app.add_typer(faults_app, name="faults")

Name = Annotated[str, typer.Argument(help="Snapshot name: 1-64 characters of A-Z a-z 0-9 _ -.")]
Url = Annotated[str, typer.Option("--url", help="The server's base URL.")]
Token = Annotated[str, typer.Option("--token", envvar="B24VOTE_ADMIN_TOKEN", help="The admin token.")]
DEFAULT_URL = "http://127.0.0.1:8000"


def register(app: typer.Typer) -> None:
    """Add the emulator commands to the ``b24vote`` command line."""
    app.command("reset")(reset)
    app.command("seed")(seed)
    app.add_typer(snapshot_app, name="snapshot")
    app.add_typer(admin_app, name="admin")


def reset(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo portal after emptying.")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Empty every portal table (snapshots and the secret key stay); with --demo, add the demo portal."""
    from b24vote.admin.snapshots import reset_database
    from b24vote.clock import SystemClock

    found = settings(database_url)
    with database(found) as db:
        result = reset_database(db, SystemClock(), found, demo=demo)
    text = "portal emptied" + (f"; demo webhook URL: {result['webhook_url']}" if demo else "")
    emit(as_json, result, text)


def seed(
    file: Annotated[Path, typer.Argument(help="A JSON or YAML seed document (see docs/testing-with-b24vote.md).")],
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create the users, chats, webhooks, apps and polls a seed document declares (all or nothing)."""
    from b24vote.admin.seed import SeedTarget, apply_seed
    from b24vote.admin.seed_doc import SeedError, load
    from b24vote.state import load_secret_key

    try:
        raw = file.read_bytes()
        doc = load(raw, yaml_ok=file.suffix.lower() != ".json")
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc
    except (SeedError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: {exc}") from exc
    found = settings(database_url)
    with database(found) as db:
        target = SeedTarget(db, found, load_secret_key(found, db), now())
        try:
            result = apply_seed(target, doc)
        except SeedError as exc:
            raise fail(f"{file}: {exc}") from exc
    lines = [f"users: {', '.join(map(str, result['users'])) or '-'}"]
    lines += [f"chats: {', '.join(map(str, result['chats'])) or '-'}"]
    lines += [f"webhook for user {h['user']}: {h['url']}" for h in result["webhooks"]]
    lines += [f"outgoing {h['event']}: application_token {h['application_token']}" for h in result["outgoing"]]
    lines += [f"app {a['name']}: client_id {a['client_id']} client_secret {a['client_secret']}" for a in result["apps"]]
    lines += [f"poll: vote {p['vote_id']}, attach {p['attach_id']}, message {p['message_id']}" for p in result["polls"]]
    emit(as_json, result, "\n".join(lines))


def _name(name: str) -> str:
    from b24vote.storage.snapshots import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(name):
        raise fail(f"snapshot name {name!r}: use 1-64 characters of A-Z a-z 0-9 _ -")
    return name


@snapshot_app.command("save")
def snapshot_save(name: Name, database_url: DbUrl = None, as_json: Json = False) -> None:
    """Save the whole portal under NAME (replacing an earlier snapshot of that name)."""
    from b24vote.storage.snapshots import save_snapshot

    with database(settings(database_url)) as db:
        info = save_snapshot(db, _name(name), now())
    emit(as_json, info.as_dict(), f"saved {name}: {sum(info.rows.values())} rows")


@snapshot_app.command("restore")
def snapshot_restore(name: Name, database_url: DbUrl = None, as_json: Json = False) -> None:
    """Bring the portal back to snapshot NAME."""
    from b24vote.storage.snapshots import SnapshotError, restore_snapshot

    with database(settings(database_url)) as db:
        try:
            info = restore_snapshot(db, _name(name))
        except SnapshotError as exc:
            raise fail(str(exc)) from exc
    if info is None:
        raise fail(f"no snapshot named {name!r}")
    emit(as_json, info.as_dict(), f"restored {name}")


@snapshot_app.command("list")
def snapshot_list(database_url: DbUrl = None, as_json: Json = False) -> None:
    """List the saved snapshots."""
    from b24vote.storage.snapshots import list_snapshots

    with database(settings(database_url)) as db:
        found = list_snapshots(db)
    lines = [f"{s.name}\t{s.created.isoformat()}\t{sum(s.rows.values())} rows" for s in found]
    emit(as_json, {"snapshots": [s.as_dict() for s in found]}, "\n".join(lines) or "no snapshots")


@snapshot_app.command("delete")
def snapshot_delete(name: Name, database_url: DbUrl = None, as_json: Json = False) -> None:
    """Delete snapshot NAME."""
    from b24vote.storage.snapshots import delete_snapshot

    with database(settings(database_url)) as db:
        if not delete_snapshot(db, _name(name)):
            raise fail(f"no snapshot named {name!r}")
    emit(as_json, {"deleted": name}, f"deleted {name}")


# --- b24vote admin: the in-process controls of a running server, over HTTP -------------------------------


def _call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One admin API call; a refused call ends the command with the server's description."""
    if not token:
        raise fail("give --token or set B24VOTE_ADMIN_TOKEN")
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
        f"{url.rstrip('/')}/_b24vote{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise fail(f"{exc.code}: {_description(exc.read())}") from exc
    except urllib.error.URLError as exc:
        raise fail(f"cannot reach {url}: {exc.reason}") from exc


def _description(raw: bytes) -> str:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")[:200]
    return f"{body.get('error')}: {body.get('error_description')}" if isinstance(body, dict) else str(body)


@admin_app.command("clock")
def admin_clock(
    freeze: Annotated[bool | None, typer.Option("--freeze/--unfreeze", help="Stop or restart the clock.")] = None,
    set_to: Annotated[str | None, typer.Option("--set", help="Jump to an ISO time, e.g. 2030-01-01T00:00:00Z.")] = None,
    advance: Annotated[float | None, typer.Option("--advance", help="Move forward by this many seconds.")] = None,
    real: Annotated[bool, typer.Option("--reset", help="Back to the real time, running.")] = False,
    url: Url = DEFAULT_URL,
    token: Token = "",
    as_json: Json = False,
) -> None:
    """Show the server's clock; with options, change it first."""
    change: dict[str, Any] = {}
    if real:
        change["reset"] = True
    if set_to is not None:
        change["set"] = set_to
    if advance is not None:
        change["advance"] = advance
    if freeze is not None:
        change["freeze"] = freeze
    state = _call(url, token, "POST" if change else "GET", "/clock", change if change else None)
    emit(as_json, state, f"{state['now']}{' (frozen)' if state['frozen'] else ''}")


def _rule_line(rule: dict[str, Any]) -> str:
    does = rule["error"] or ("drop" if rule["drop"] else "latency")
    left = "∞" if rule["remaining"] is None else rule["remaining"]
    extra = f" +{rule['latency_ms']:g}ms" if rule["latency_ms"] else ""
    odds = f"p={rule['probability']:g}, left {left}, fired {rule['fired']}"
    return f"#{rule['id']} {rule['method']} → {does}{extra} ({odds})"


@faults_app.command("list")
def faults_list(url: Url = DEFAULT_URL, token: Token = "", as_json: Json = False) -> None:
    """List the fault rules."""
    rules = _call(url, token, "GET", "/faults")["rules"]
    emit(as_json, {"rules": rules}, "\n".join(_rule_line(r) for r in rules) or "no fault rules")


@faults_app.command("add")
def faults_add(
    method: Annotated[str, typer.Option("--method", help="Method name or glob, e.g. vote.* (case-insensitive).")],
    error: Annotated[str | None, typer.Option("--error", help="Bitrix24 error code to answer.")] = None,
    status: Annotated[int | None, typer.Option("--status", help="HTTP status (overrides the code's).")] = None,
    count: Annotated[int | None, typer.Option("--count", help="Fire at most this many times.")] = None,
    probability: Annotated[float, typer.Option("--probability", help="Chance to fire, 0..1.")] = 1.0,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Delay before handling.")] = 0.0,
    drop: Annotated[bool, typer.Option("--drop", help="Cut the connection instead of answering.")] = False,
    caller: Annotated[int | None, typer.Option("--caller", help="Only calls of this user id.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the random draws.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = "",
    as_json: Json = False,
) -> None:
    """Add one fault rule."""
    rule: dict[str, Any] = {"method": method, "probability": probability, "latency_ms": latency_ms, "drop": drop}
    for key, value in (("error", error), ("status", status), ("count", count), ("caller", caller)):
        if value is not None:
            rule[key] = value
    rules = _call(url, token, "POST", "/faults", {"rules": [rule], "seed": seed})["rules"]
    emit(as_json, {"rules": rules}, "\n".join(_rule_line(r) for r in rules))


@faults_app.command("clear")
def faults_clear(url: Url = DEFAULT_URL, token: Token = "", as_json: Json = False) -> None:
    """Remove every fault rule."""
    emit(as_json, _call(url, token, "DELETE", "/faults"), "fault rules cleared")


@admin_app.command("journal")
def admin_journal(
    method: Annotated[str | None, typer.Option("--method", help="Only methods matching this glob.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only calls at or after this ISO time.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the newest N calls.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget every recorded call instead.")] = False,
    url: Url = DEFAULT_URL,
    token: Token = "",
    as_json: Json = False,
) -> None:
    """Show the REST calls the server recorded (secrets masked)."""
    if clear:
        emit(as_json, _call(url, token, "DELETE", "/journal"), "journal cleared")
        return
    query = {k: str(v) for k, v in (("method", method), ("since", since), ("limit", limit)) if v is not None}
    suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
    entries = _call(url, token, "GET", f"/journal{suffix}")["entries"]
    lines = [
        f"{e['time']} {e['status'] or '-'} {e['method']} {e['caller']['kind']}:{e['caller']['user_id']}"
        + (f" {e['error']}" if e["error"] else "")
        for e in entries
    ]
    emit(as_json, {"entries": entries}, "\n".join(lines) or "no calls recorded")
