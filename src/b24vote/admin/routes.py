"""The admin API under ``/_b24vote/``: one table of routes, each with a one-line summary (for the docs)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from b24vote.admin import api, clock, deliveries, seed, snapshots, tokens
from b24vote.admin.http import AdminGuard, Endpoint

__all__ = ["ADMIN_PREFIX", "ADMIN_ROUTES", "AdminRoute", "admin_mount"]

ADMIN_PREFIX = "/_b24vote"


@dataclass(frozen=True, slots=True)
class AdminRoute:
    """One admin endpoint: HTTP method, path under the prefix, handler and what it does."""

    method: str
    path: str
    endpoint: Endpoint
    summary: str


ADMIN_ROUTES: tuple[AdminRoute, ...] = (
    AdminRoute("POST", "/reset", snapshots.reset, "Empty the portal (or load the demo); real clock, no faults"),
    AdminRoute("GET", "/snapshots", snapshots.listing, "List saved snapshots with their row counts"),
    AdminRoute("POST", "/snapshots/{name}", snapshots.save, "Save the whole portal as a named snapshot"),
    AdminRoute("DELETE", "/snapshots/{name}", snapshots.delete, "Delete a snapshot"),
    AdminRoute("POST", "/snapshots/{name}/restore", snapshots.restore, "Bring the portal back to a snapshot"),
    AdminRoute("POST", "/seed", seed.post_seed, "Create users, chats, webhooks, apps and polls from a document"),
    AdminRoute("POST", "/tokens", tokens.issue_token, "Issue an OAuth token pair for a user (no browser flow)"),
    AdminRoute("GET", "/clock", clock.get_clock, "Read the server's time and whether it is frozen"),
    AdminRoute("POST", "/clock", clock.post_clock, "Freeze, unfreeze, set or advance the server's time"),
    AdminRoute("GET", "/faults", api.get_faults, "List fault rules with how often each may still fire"),
    AdminRoute("POST", "/faults", api.post_faults, "Add fault rules (errors, latency, dropped connections)"),
    AdminRoute("DELETE", "/faults", api.clear_faults, "Remove every fault rule"),
    AdminRoute("DELETE", "/faults/{rule_id}", api.delete_fault, "Remove one fault rule"),
    AdminRoute("GET", "/journal", api.get_journal, "Recorded REST calls, filtered by method glob, since, limit"),
    AdminRoute("DELETE", "/journal", api.clear_journal, "Forget every recorded call"),
    AdminRoute(
        "GET", "/deliveries", deliveries.list_pending, "Event deliveries waiting to be sent, and failing handlers"
    ),
    AdminRoute(
        "POST", "/deliveries/send", deliveries.send_now, "Send every waiting event delivery now and wait for it"
    ),
    AdminRoute("POST", "/deliveries/fail", deliveries.fail_next, "Fail a handler's next N deliveries with a status"),
)


def admin_mount() -> Mount:
    """The admin API, guarded by the bearer token (and absent when no token is configured)."""
    routes = [Route(r.path, r.endpoint, methods=[r.method]) for r in ADMIN_ROUTES]
    return Mount(ADMIN_PREFIX, routes=routes, middleware=[Middleware(AdminGuard)])
