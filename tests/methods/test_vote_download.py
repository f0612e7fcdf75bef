"""vote.AttachedVote.download and the downloadUrl route: headers, both tables, formats, anonymity, access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.methods.vote_texts_ru import TEXTS as RU
from b24vote.reports import tables
from b24vote.reports.source import read_tables
from b24vote.reports.xlsx import CELL_LIMIT, cell_text
from b24vote.storage import polls
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.reports import add_hook, blog_poll, cast, chat_poll, csv_rows, html_rows, xlsx_rows, xlsx_text
from tests.helpers.wire import assert_b24_error

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
META = b'<meta http-equiv="Content-type" content="text/html;charset=UTF-8" />\n'
NAMES = ("Anna", "Admin", "Boris", "Belov", "Cleo", "Carter")


@pytest.fixture
def cleo_hook(db: Database, clock: FrozenClock, portal: Portal) -> str:
    return add_hook(db, clock.now(), portal.cleo)


def _download(client: TestClient, portal: Portal, hook: str | None = None, **params: Any) -> Any:
    return client.post(portal.url("vote.AttachedVote.download", hook), json=params)


def _when(when: datetime, settings: Settings) -> str:
    return when.astimezone(settings.timezone).strftime("%d.%m.%Y %H:%M:%S")


def _public_poll(client: TestClient, portal: Portal, clock: FrozenClock, cleo_hook: str) -> tuple[Any, list[datetime]]:
    """A checkbox poll: Cleo picks two answers, then Bob one, then Anna one; returns (attach, vote dates)."""
    attach = chat_poll(client, portal, [("Где обедаем?", 1, ["Столовая", "Пицца", "Суши"])])
    dates = []
    for hook, answers in ((cleo_hook, ("Столовая", "Суши")), (portal.bob_hook, ("Пицца",)), (portal.hook, ("Суши",))):
        clock.advance(61)
        dates.append(clock.now())
        cast(client, hook, attach, *answers)
    return attach, dates


def test_xls_is_the_real_servers_file(
    app_client: TestClient, portal: Portal, clock: FrozenClock, settings: Settings, cleo_hook: str
) -> None:
    attach, dates = _public_poll(app_client, portal, clock, cleo_hook)
    cleo_at, bob_at, anna_at = (_when(d, settings) for d in dates)
    resp = _download(app_client, portal, attachId=attach["ID"])
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.ms-excel"
    assert resp.headers["content-transfer-encoding"] == "binary"
    assert resp.headers["content-disposition"] == f"attachment;filename=vote{attach['VOTE_ID']}.xls"
    expected = (
        META.decode()
        + '<p><table border="1">\n<tbody>\n'
        + "<tr><td>Где обедаем?</td><td></td><td></td><td></td></tr>\n"
        + "<tr><td></td><td>Столовая</td><td>1</td><td>Cleo Carter</td></tr>\n"
        + "<tr><td></td><td>Пицца</td><td>1</td><td>Boris Belov</td></tr>\n"
        + "<tr><td></td><td>Суши</td><td>2</td><td>Anna Admin, Cleo Carter</td></tr>\n"
        + "</tbody>\n</table>\n"
        + '<p><table border="1">\n<thead>\n'
        + f"<tr><th>{RU.export_date}</th><th>{RU.export_name}</th><th>Где обедаем?</th></tr>\n"
        + "</thead>\n<tbody>\n"
        + f"<tr><td>{anna_at}</td><td>Anna Admin</td><td>Суши</td></tr>\n"
        + f"<tr><td>{bob_at}</td><td>Boris Belov</td><td>Пицца</td></tr>\n"
        + f"<tr><td>{cleo_at}</td><td>Cleo Carter</td><td>Столовая, Суши</td></tr>\n"
        + "</tbody>\n</table>\n"
    )
    assert resp.content.decode() == expected


def test_get_with_webhook_query_gives_the_same_file(
    app_client: TestClient, portal: Portal, clock: FrozenClock, cleo_hook: str
) -> None:
    attach, _ = _public_poll(app_client, portal, clock, cleo_hook)
    posted = _download(app_client, portal, attachId=attach["ID"])
    fetched = app_client.get(portal.url("vote.AttachedVote.download.json") + f"?attachId={attach['ID']}")
    assert fetched.status_code == 200 and fetched.content == posted.content


@pytest.mark.parametrize(
    ("fmt", "media_type", "reader"),
    [("csv", "text/csv; charset=utf-8", csv_rows), ("xlsx", XLSX_TYPE, xlsx_rows), ("XLSX", XLSX_TYPE, xlsx_rows)],
)
def test_csv_and_xlsx_hold_the_same_rows(
    app_client: TestClient, portal: Portal, clock: FrozenClock, cleo_hook: str, fmt: str, media_type: str, reader: Any
) -> None:
    attach, _ = _public_poll(app_client, portal, clock, cleo_hook)
    html = _download(app_client, portal, attachId=attach["ID"])
    resp = _download(app_client, portal, attachId=attach["ID"], format=fmt)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == media_type
    ext = fmt.lower()
    assert resp.headers["content-disposition"] == f"attachment;filename=vote{attach['VOTE_ID']}.{ext}"
    rows = reader(resp.content)
    assert rows == html_rows(html.content)
    assert rows[:5] == [
        ["Где обедаем?"],
        ["", "Столовая", "1", "Cleo Carter"],
        ["", "Пицца", "1", "Boris Belov"],
        ["", "Суши", "2", "Anna Admin, Cleo Carter"],
        [],
    ]
    assert [row[1] for row in rows[6:]] == ["Anna Admin", "Boris Belov", "Cleo Carter"]


def test_multi_question_rows_follow_the_questions(
    app_client: TestClient, portal: Portal, clock: FrozenClock, db: Database, settings: Settings
) -> None:
    questions = [("Цвет?", 0, ["Красный", "Синий"]), ("Языки?", 1, ["Python", "Go", "Rust"])]
    attach = blog_poll(db, clock.now(), portal.admin, questions)
    cast(app_client, portal.bob_hook, attach, "Rust", "Синий", "Python")
    rows = csv_rows(_download(app_client, portal, attachId=attach["ID"], format="csv").content)
    assert rows[:7] == [
        ["Цвет?"],
        ["", "Красный", "0"],
        ["", "Синий", "1", "Boris Belov"],
        ["Языки?"],
        ["", "Python", "1", "Boris Belov"],
        ["", "Go", "0"],
        ["", "Rust", "1", "Boris Belov"],
    ]
    assert rows[8] == [RU.export_date, RU.export_name, "Цвет?", "Языки?"]
    # Chosen answers are listed in the question's order, not the ballot's.
    assert rows[9] == [_when(clock.now(), settings), "Boris Belov", "Синий", "Python, Rust"]


def test_cells_are_escaped_in_html_and_raw_elsewhere(app_client: TestClient, portal: Portal) -> None:
    nasty = '<script>alert("x")</script> & co'
    attach = chat_poll(app_client, portal, [("Tom & <b>Jerry</b>?", 0, [nasty, "=1+1"])])
    cast(app_client, portal.bob_hook, attach, nasty)
    html = _download(app_client, portal, attachId=attach["ID"]).content
    assert b"<script>" not in html and b"<b>" not in html
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert b"Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;?" in html
    assert html_rows(html)[1][1] == nasty
    csv_body = _download(app_client, portal, attachId=attach["ID"], format="csv").content
    rows = csv_rows(csv_body)
    assert rows[0] == ["Tom & <b>Jerry</b>?"] and rows[1][1] == nasty and rows[-1][2] == nasty
    # A text a spreadsheet would run as a formula is kept as text in CSV.
    assert rows[2][1] == "'=1+1"
    xlsx = xlsx_rows(_download(app_client, portal, attachId=attach["ID"], format="xlsx").content)
    assert xlsx[0] == ["Tom & <b>Jerry</b>?"] and xlsx[1][1] == nasty and xlsx[-1][2] == nasty
    assert xlsx[2][1] == "=1+1"


def test_anonymous_poll_shows_no_names_in_any_format(
    app_client: TestClient, portal: Portal, clock: FrozenClock, cleo_hook: str
) -> None:
    attach = chat_poll(app_client, portal, [("Секретно?", 0, ["Да", "Нет"])], anonymity=2)
    for hook, answer in ((portal.hook, "Да"), (portal.bob_hook, "Нет"), (cleo_hook, "Да")):
        clock.advance(5)
        cast(app_client, hook, attach, answer)
    bodies = {
        fmt: _download(app_client, portal, attachId=attach["ID"], format=fmt).content for fmt in ("xls", "csv", "xlsx")
    }
    searched = {**bodies, "xlsx": xlsx_text(bodies["xlsx"])}
    for fmt, body in searched.items():
        for name in NAMES:
            assert name.encode() not in body, (fmt, name)
    for rows in (html_rows(bodies["xls"]), csv_rows(bodies["csv"]), xlsx_rows(bodies["xlsx"])):
        assert rows[1] == ["", "Да", "2", f"{RU.anonymously}, {RU.anonymously}"]
        assert rows[2] == ["", "Нет", "1", RU.anonymously]
        # Ballots in voting order, so the row order does not follow the voters' names either.
        assert [(row[1], row[2]) for row in rows[5:]] == [
            (RU.anonymously, "Да"),
            (RU.anonymously, "Нет"),
            (RU.anonymously, "Да"),
        ]


def test_empty_poll_has_both_tables(app_client: TestClient, portal: Portal) -> None:
    attach = chat_poll(app_client, portal, [("Пусто?", 0, ["Да", "Нет"])])
    rows = html_rows(_download(app_client, portal, attachId=attach["ID"]).content)
    assert rows == [["Пусто?"], ["", "Да", "0"], ["", "Нет", "0"], [], [RU.export_date, RU.export_name, "Пусто?"]]


def test_bad_format_is_an_argument_error(app_client: TestClient, portal: Portal) -> None:
    attach = chat_poll(app_client, portal, [("Q?", 0, ["a", "b"])])
    for bad in ("pdf", "xls ", ["csv"]):
        resp = _download(app_client, portal, attachId=attach["ID"], format=bad)
        if bad == "xls ":
            assert resp.status_code == 200  # surrounding spaces are forgiven
            continue
        assert_b24_error(resp, "ERROR_ARGUMENT", 400)
        assert "xls, xlsx or csv" in resp.json()["error_description"]


def test_addressing_errors_match_get(app_client: TestClient, portal: Portal, settings: Settings) -> None:
    attach = chat_poll(app_client, portal, [("Q?", 0, ["a", "b"])])
    assert_b24_error(
        _download(app_client, portal),
        "100",
        400,
        "Bitrix\\Vote\\Attach All parameters in the constructor must have real class type",
    )
    assert_b24_error(_download(app_client, portal, attachId=999999), "ATTACH_NOT_FOUND", 400, "Attach not found")
    denied = _download(app_client, portal, portal.outsider_hook, attachId=attach["ID"])
    assert_b24_error(denied, "0", 400, "Attach read access denied")
    assert denied.json() == {"error": "0", "error_description": "Attach read access denied"}
    # A valid signed id lets a non-member download; a tampered one names no attach.
    signed = attach["signedAttachId"]
    allowed = _download(app_client, portal, portal.outsider_hook, signedAttachId=signed)
    assert allowed.status_code == 200 and allowed.content.startswith(META)
    tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    assert_b24_error(
        _download(app_client, portal, portal.outsider_hook, signedAttachId=tampered), "ATTACH_NOT_FOUND", 400
    )
    assert_b24_error(
        _download(app_client, portal, portal.narrow_hook, attachId=attach["ID"]), "insufficient_scope", 403
    )


def test_download_url_route(app_client: TestClient, portal: Portal, clock: FrozenClock, cleo_hook: str) -> None:
    attach, _ = _public_poll(app_client, portal, clock, cleo_hook)
    url = attach["downloadUrl"]
    assert url.startswith("/bitrix/services/main/ajax.php?action=vote.AttachedVote.download&SITE_ID=s1&signedAttachId=")
    resp = app_client.get(url)  # no credentials at all
    assert resp.status_code == 200
    assert resp.headers["content-disposition"] == f"attachment;filename=vote{attach['VOTE_ID']}.xls"
    assert resp.headers["content-transfer-encoding"] == "binary"
    assert resp.content == _download(app_client, portal, attachId=attach["ID"]).content
    as_csv = app_client.get(url + "&format=csv")
    assert as_csv.content == _download(app_client, portal, attachId=attach["ID"], format="csv").content
    assert_b24_error(app_client.get(url + "&format=doc"), "ERROR_ARGUMENT", 400)

    base = "/bitrix/services/main/ajax.php"
    assert_b24_error(app_client.get(f"{base}?action=vote.AttachedVote.get&signedAttachId=x"), "ERROR_NOT_FOUND", 404)
    assert_b24_error(app_client.get(base), "ERROR_NOT_FOUND", 404)
    download = f"{base}?action=vote.AttachedVote.download&SITE_ID=s1"
    assert_b24_error(app_client.get(download), "ATTACH_NOT_FOUND", 400, "Attach not found")
    # attachId is not a way in here: only the signed id grants read to a caller without credentials.
    assert_b24_error(app_client.get(f"{download}&attachId={attach['ID']}"), "ATTACH_NOT_FOUND", 400)
    signed = attach["signedAttachId"]
    tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    assert_b24_error(app_client.get(f"{download}&signedAttachId={tampered}"), "ATTACH_NOT_FOUND", 400)
    assert_b24_error(app_client.get(f"{download}&signedAttachId=999.{'0' * 64}"), "ATTACH_NOT_FOUND", 400)


def test_batches_give_the_same_rows(
    app_client: TestClient, portal: Portal, clock: FrozenClock, db: Database, settings: Settings, cleo_hook: str
) -> None:
    attach, _ = _public_poll(app_client, portal, clock, cleo_hook)
    labels = tables.Labels(date="D", name="N", anonymous="A", guest="G")

    def rows(batch: int) -> list[Any]:
        with db.read() as conn:
            poll = polls.load_poll(conn, attach["VOTE_ID"])
            assert poll is not None
            made = read_tables(conn, poll, tz=settings.timezone, labels=labels, batch=batch)
            summary = [[("|".join(tables.cell_parts(c))) for c in row] for row in made.summary]
            return [*summary, list(made.head), *(list(row) for row in made.statistics)]

    assert rows(1) == rows(2) == rows(1000)


def test_xlsx_cuts_a_voter_list_at_the_cell_limit() -> None:
    parts = (f"Voter {n}" for n in range(10_000))
    text = cell_text(tables.Joined(parts))
    assert len(text) == CELL_LIMIT and text.endswith("…") and text.startswith("Voter 0, Voter 1, ")
    assert next(parts, None) is None  # the source was closed, not read to the end


def test_voter_labels() -> None:
    labels = tables.Labels(date="D", name="N", anonymous="A", guest="G")
    anna = tables.Voter(user_id=1, visible=True, name="Anna", last_name="Admin")
    assert tables.voter_label(labels, anna, anonymous_poll=False) == "Anna Admin"
    assert tables.voter_label(labels, anna, anonymous_poll=True) == "A"
    hidden = tables.Voter(user_id=1, visible=False, name="Anna", last_name="Admin")
    assert tables.voter_label(labels, hidden, anonymous_poll=False) == "A"
    guest = tables.Voter(user_id=0, visible=True, name="", last_name="")
    assert tables.voter_label(labels, guest, anonymous_poll=False) == "G"
