"""Emulator controls for integrators' test suites, served under ``/_b24vote/`` when an admin token is set.

``routes`` (the HTTP surface), ``clock``, ``faults``, ``journal``, ``snapshots`` and ``seed``; ``controls``
holds the in-memory state (fault rules and the journal) and ``rest`` hooks both into the REST endpoint.
"""
