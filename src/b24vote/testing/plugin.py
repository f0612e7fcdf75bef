"""The pytest plugin of the b24vote testing kit (entry point ``pytest11``): fixtures, a marker, options.

- ``b24vote_server`` (session): a :class:`~b24vote.testing.Portal` serving the demo portal, or the document of
  ``--b24vote-seed``; with ``--b24vote-url`` (and ``--b24vote-token``) a server that runs elsewhere.
- ``b24portal`` (function): that portal, brought back to its seeded world before the test (real clock, no
  faults, empty journal), so tests never see each other's polls.
- ``@pytest.mark.b24vote(seed=…, rate_limit=…, operating_limit=…, timezone=…, language=…, tls=…)``: the test gets
  a portal with those options (one per distinct set of options in the session, also restored before each test).
- ``--b24vote-tls``: the portals serve HTTPS with a throwaway CA (``tls=False`` in a marker opts out), for SDKs that
  build ``https://`` URLs themselves; ``b24portal.ca_path`` and ``b24portal.ssl_context()`` trust it.

Under pytest-xdist every worker is a process of its own, with its own session fixtures: one server each.
Nothing of the server is imported until a fixture is used. Only this module imports pytest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from b24vote.testing import Portal

__all__ = ["b24portal", "b24vote_server"]

MARKER_OPTIONS = ("seed", "rate_limit", "operating_limit", "timezone", "language", "tls")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("b24vote", "b24vote testing kit")
    group.addoption("--b24vote-seed", metavar="FILE", help="Seed document of the session's portal (default: demo).")
    group.addoption("--b24vote-url", metavar="URL", help="Use the b24vote server at URL instead of starting one.")
    group.addoption(
        "--b24vote-token",
        metavar="TOKEN",
        default=os.environ.get("B24VOTE_ADMIN_TOKEN"),
        help="Admin token of the --b24vote-url server (default: $B24VOTE_ADMIN_TOKEN).",
    )
    group.addoption(
        "--b24vote-tls",
        action="store_true",
        help="Serve the portals over HTTPS with a throwaway CA (b24portal.ca_path); needs trustme.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "b24vote(seed=None, rate_limit=None, operating_limit=None, timezone=None, language=None, tls=None): "
        "run the test on a b24vote portal with these options",
    )


class _Portals:
    """The session's portals, one per distinct set of marker options, started when first asked for."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._started: dict[tuple[tuple[str, Any], ...], Portal] = {}

    def get(self, **options: Any) -> Portal:
        if options.get("tls") is None:
            options["tls"] = self._config.getoption("b24vote_tls")
        options["tls"] = options["tls"] or None  # off is the default: no key of its own
        options = {k: v for k, v in options.items() if v is not None}
        key = tuple(sorted((k, str(v)) for k, v in options.items()))
        if key not in self._started:
            self._started[key] = self._start(options)
        return self._started[key]

    def _start(self, options: dict[str, Any]) -> Portal:
        from b24vote.testing import Portal

        url = self._config.getoption("b24vote_url")
        seed = options.pop("seed", None) or self._config.getoption("b24vote_seed")
        if isinstance(seed, str | os.PathLike):
            seed = self._config.invocation_params.dir / Path(seed)
        if url:
            if self._config.getoption("b24vote_tls"):
                raise pytest.UsageError(
                    "--b24vote-tls serves a portal of its own: the --b24vote-url server brings its own certificate "
                    "(trust its CA with SSL_CERT_FILE)"
                )
            if options or self._started:
                raise pytest.UsageError(
                    "--b24vote-url serves one portal: b24vote markers with options need a portal of their own"
                )
            if os.environ.get("PYTEST_XDIST_WORKER"):
                raise pytest.UsageError("--b24vote-url is one server: run without pytest-xdist workers (-n)")
            token = self._config.getoption("b24vote_token")
            if not token:
                raise pytest.UsageError("--b24vote-url needs --b24vote-token (or B24VOTE_ADMIN_TOKEN)")
            portal = Portal(seed, url=url, admin_token=token)
        else:
            portal = Portal(seed, **options)
        portal.start()
        return portal

    def close(self) -> None:
        for portal in self._started.values():
            portal.stop()
        self._started.clear()


@pytest.fixture(scope="session")
def _b24vote_portals(pytestconfig: pytest.Config) -> Iterator[_Portals]:
    portals = _Portals(pytestconfig)
    yield portals
    portals.close()


@pytest.fixture(scope="session")
def b24vote_server(_b24vote_portals: _Portals) -> Portal:
    """The session's portal (demo, or ``--b24vote-seed``), started on first use."""
    return _b24vote_portals.get()


@pytest.fixture
def b24portal(request: pytest.FixtureRequest, _b24vote_portals: _Portals) -> Portal:
    """A portal brought back to its seeded world before this test: real clock, no faults, empty journal."""
    marker = request.node.get_closest_marker("b24vote")
    options: dict[str, Any] = {}
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.b24vote takes keyword arguments only")
        unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.b24vote: unknown option {unknown[0]!r} (expected {', '.join(MARKER_OPTIONS)})"
            )
        options = dict(marker.kwargs)
        if not isinstance(options.get("tls", False), bool):
            raise pytest.UsageError("@pytest.mark.b24vote: tls must be True or False")
    portal = request.getfixturevalue("b24vote_server") if not options else _b24vote_portals.get(**options)
    portal.reset()
    return portal
