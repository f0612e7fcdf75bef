"""The b24vote testing kit: a served portal with its controls, for any test suite in one line.

``with Portal() as portal:`` starts b24vote in a thread of this process (demo portal, admin API on); the
pytest plugin (``b24vote.testing.plugin``, loaded through the ``pytest11`` entry point) gives tests the
``b24portal`` fixture. Importing this package is cheap: the server's code loads when a portal starts.
See docs/testing-with-b24vote.md.
"""

from __future__ import annotations

from b24vote.testing._controls import Call, Clock, FaultRule, Faults, Journal
from b24vote.testing._deliveries import Deliveries, HandlerFailure, PendingDelivery
from b24vote.testing._http import AdminClient, PortalError
from b24vote.testing._portal import Portal
from b24vote.testing._world import OAuthApp, SeedDocument, SeededPoll, World

__all__ = [
    "AdminClient",
    "Call",
    "Clock",
    "Deliveries",
    "FaultRule",
    "Faults",
    "HandlerFailure",
    "Journal",
    "OAuthApp",
    "PendingDelivery",
    "Portal",
    "PortalError",
    "SeedDocument",
    "SeededPoll",
    "World",
]
