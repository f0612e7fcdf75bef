"""``Portal``: a served b24vote for a test suite, with its world and controls at hand."""

from __future__ import annotations

import contextlib
import secrets
import ssl
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from b24vote.testing._controls import Clock, Faults, Journal
from b24vote.testing._deliveries import Deliveries
from b24vote.testing._http import AdminClient, PortalError
from b24vote.testing._server import ServerThread
from b24vote.testing._tls import TestCertificates, make_certificates
from b24vote.testing._world import OAuthApp, SeedDocument, SeededPoll, World, document_body

__all__ = ["WORLD_SNAPSHOT", "Portal"]

WORLD_SNAPSHOT = "b24vote-kit-world"  # prefix of the snapshot of the world a portal started with (reset())


class Portal:
    """A b24vote portal for tests: ``with Portal() as portal:`` serves it; leaving the block stops it.

    By default it starts b24vote in a thread of this process on a free loopback port, on a temporary SQLite
    database, with the admin API under a random token, and loads the demo portal (users 1-3 in one chat, user
    1 an administrator, one poll) — or ``seed`` (a mapping, or the path of a JSON or YAML seed document) on an
    empty portal. Every user gets a webhook (``webhook_url``). With ``url`` and ``admin_token`` it drives a
    server that runs elsewhere instead — and empties it first.

    Rate limit (``"50/2"``: burst/drain per second) and operating limit (seconds per 10 minutes) are off unless
    given; ``timezone`` is the portal's (``"+03:00"`` like a Moscow portal, or ``"UTC"``), and so is
    ``language`` (``"ru"`` or ``"en"``: the texts of errors, stop messages, reports and the results page).
    """

    def __init__(
        self,
        seed: SeedDocument | None = None,
        *,
        rate_limit: str | None = None,
        operating_limit: int | None = None,
        timezone: str = "+03:00",
        language: str = "ru",
        tls: bool = False,
        url: str | None = None,
        admin_token: str | None = None,
        log_level: str = "warning",
        timeout: float = 30.0,
    ) -> None:
        if (url is None) != (admin_token is None):
            raise ValueError("give both url and admin_token (an external server), or neither")
        if tls and url is not None:
            raise ValueError("tls=True serves a portal of its own; a server at url brings its own certificate")
        self._seed = seed
        self._limits = {
            "B24VOTE_RATE_LIMIT": rate_limit or "off",
            "B24VOTE_OPERATING_LIMIT": str(operating_limit or "off"),
        }
        self._timezone = timezone
        self._language = language
        self._log_level = log_level
        self._tls = tls
        self._certificates: TestCertificates | None = None
        self._timeout = timeout
        self._external = url
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self._server: ServerThread | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._admin: AdminClient | None = None
        self._world = World()
        self._saved: dict[str, World] = {}
        self.url = ""
        # Its own name: another Portal may drive the same server (and must not replace this world).
        self._world_snapshot = f"{WORLD_SNAPSHOT}-{secrets.token_hex(4)}"

    # --- start and stop ----------------------------------------------------------------------------------

    def __enter__(self) -> Portal:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Serve (or reach the external server), build the world and keep it as the snapshot reset() restores."""
        if self._admin is not None:
            raise RuntimeError("this Portal is started already")
        try:
            self.url = self._external.rstrip("/") if self._external else self._serve()
            context = self.ssl_context() if self._tls else None
            self._admin = AdminClient(self.url, self.admin_token, self._timeout, context=context)
            self._build_world()
        except BaseException:
            self.stop()
            raise

    def _serve(self) -> str:
        from b24vote.config import Settings

        self._folder = tempfile.TemporaryDirectory(prefix="b24vote-portal-")
        env = {
            **self._limits,
            "B24VOTE_TIMEZONE": self._timezone,
            "B24VOTE_LANGUAGE": self._language,
            "B24VOTE_SQLITE_SYNCHRONOUS": "NORMAL",  # a test database need not survive a power cut
            "B24VOTE_LOG_LEVEL": self._log_level,
            "B24VOTE_ADMIN_TOKEN": self.admin_token,
        }
        # Only these settings: the developer's own B24VOTE_* variables must not reach the test portal.
        settings = Settings.from_env(env, database_url=f"sqlite:///{self._folder.name}/b24vote.db")
        if self._tls:
            self._certificates = make_certificates(Path(self._folder.name))
        self._server = ServerThread(settings, self._certificates)
        return self._server.start(self._timeout)

    def stop(self) -> None:
        """Stop the server (when this Portal started it) and delete its database."""
        if self._admin is not None:
            if self._external and self._world_snapshot in self._saved:
                with contextlib.suppress(PortalError, OSError):  # tidying up a server that may be gone already
                    self._admin.call("DELETE", f"/snapshots/{self._world_snapshot}")
            self._admin.close()
            self._admin = None
        if self._server is not None:
            self._server.stop(self._timeout)
            self._server = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self._certificates = None

    @property
    def admin(self) -> AdminClient:
        """The admin API client (``call(method, path, body)``), for what the typed helpers do not cover."""
        if self._admin is None:
            raise RuntimeError("the Portal is not started: use `with Portal() as portal:`")
        return self._admin

    def _build_world(self) -> None:
        if self._seed is None:
            self._world = World.from_demo(self.admin.call("POST", "/reset", {"seed": "demo"}))
            self._give_webhooks()
        else:
            self.admin.call("POST", "/reset")
            self._world = World()
            self.seed(self._seed)
        self.snapshot(self._world_snapshot)

    def _give_webhooks(self) -> None:
        """A webhook (all scopes) for every known user who has none yet, so that ``webhook_url`` always works."""
        missing = [user for user in self._world.users if user not in self._world.webhooks]
        if missing:
            made = self.admin.call("POST", "/seed", {"webhooks": [{"user": user} for user in missing]})
            self._world = self._world.plus(World.from_seed(made))

    # --- the world ---------------------------------------------------------------------------------------

    @property
    def world(self) -> World:
        return self._world

    @property
    def users(self) -> tuple[int, ...]:
        return self._world.users

    @property
    def chats(self) -> tuple[int, ...]:
        return self._world.chats

    @property
    def polls(self) -> tuple[SeededPoll, ...]:
        return self._world.polls

    @property
    def apps(self) -> tuple[OAuthApp, ...]:
        return self._world.apps

    def webhook_url(self, user_id: int = 1) -> str:
        """The URL of a webhook acting as ``user_id`` (ending in ``/``: append the method name)."""
        try:
            return self._world.webhooks[user_id]
        except KeyError:
            known = ", ".join(map(str, sorted(self._world.webhooks))) or "none"
            raise KeyError(f"no webhook for user {user_id} in this portal (users with one: {known})") from None

    def webhook_token(self, user_id: int = 1) -> str:
        """``USER/CODE`` of the user's webhook: with :attr:`domain`, what b24pysdk's ``BitrixWebhook`` takes."""
        return self.webhook_url(user_id).split("/rest/", 1)[1].strip("/")

    def seed(self, document: SeedDocument) -> World:
        """Create what a seed document declares (all or nothing); returns what it made."""
        body, kind = document_body(document)
        made = World.from_seed(self.admin.call("POST", "/seed", raw=body, content_type=kind))
        self._world = self._world.plus(made)
        self._give_webhooks()
        return made

    def oauth_app(self, name: str = "Test app", *, scopes: str = "vote,im,user", redirect_uri: str = "") -> OAuthApp:
        """Register an OAuth application; its client_id and client_secret."""
        made = self.seed({"apps": [{"name": name, "scopes": scopes, "redirect_uri": redirect_uri}]})
        return made.apps[0]

    def token(self, app: OAuthApp, user_id: int = 1) -> dict[str, Any]:
        """Tokens for ``user_id`` without the browser flow: the token endpoint's JSON (``access_token`` …).

        Issued by the server (``POST /_b24vote/tokens``) at its own clock, so they expire by the time it reads;
        the application's first token installs it (ONAPPINSTALL), as with ``b24vote token issue``.
        """
        reply: dict[str, Any] = self.admin.call("POST", "/tokens", {"client_id": app.client_id, "user": user_id})
        return reply

    # --- TLS -----------------------------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        """``host:port`` of the portal: what SDKs call its domain (b24pysdk's ``BitrixWebhook(domain=…)``)."""
        return urlsplit(self.url).netloc

    @property
    def tls(self) -> bool:
        """Whether this portal serves HTTPS with a certificate of its own CA (``Portal(tls=True)``)."""
        return self._tls

    @property
    def ca_path(self) -> Path:
        """The PEM file of the CA that signed the portal's certificate (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``)."""
        if self._certificates is None:
            state = "not started" if self._tls else "not served over TLS: use Portal(tls=True)"
            raise RuntimeError(f"this Portal has no CA: it is {state}")
        return self._certificates.ca

    def ssl_context(self) -> ssl.SSLContext:
        """A new client TLS context that trusts the portal's CA (for aiohttp, httpx, http.client …)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    # --- snapshots ---------------------------------------------------------------------------------------

    def snapshot(self, name: str) -> None:
        """Save the whole portal as ``name`` (``[A-Za-z0-9_-]{1,64}``)."""
        self.admin.call("POST", f"/snapshots/{name}")
        self._saved[name] = self._world

    def restore(self, name: str, *, controls: bool = False) -> None:
        """Bring the portal back to snapshot ``name`` (rate-limit counters cleared too).

        With ``controls``, in the same admin call: real clock, no fault rules, empty journal.
        """
        body = {"controls": "reset"} if controls else None
        self.admin.call("POST", f"/snapshots/{name}/restore", body)
        self._world = self._saved.get(name, World())

    def reset(self, *, empty: bool = False) -> None:
        """Back to the world the portal started with (or an empty one): real clock, no faults, empty journal."""
        if empty:
            self.admin.call("POST", "/reset")
            self._world = World()
            return
        self.restore(self._world_snapshot, controls=True)

    # --- controls ----------------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return Clock(self.admin)

    @property
    def faults(self) -> Faults:
        return Faults(self.admin)

    @property
    def journal(self) -> Journal:
        return Journal(self.admin)

    @property
    def deliveries(self) -> Deliveries:
        return Deliveries(self.admin)

    def __repr__(self) -> str:
        return f"<Portal {self.url or 'not started'} users={list(self.users)}>"
