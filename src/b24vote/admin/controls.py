"""The emulator's in-memory state of one process: fault rules and the request journal."""

from __future__ import annotations

from dataclasses import dataclass, field

from b24vote.admin.faults import FaultSet
from b24vote.admin.journal import Journal
from b24vote.events.sender import HandlerFaults

__all__ = ["Controls"]


@dataclass
class Controls:
    """Fault rules, journal and handler faults; they live in the process (each server process has its own)."""

    faults: FaultSet = field(default_factory=FaultSet)
    journal: Journal = field(default_factory=Journal)
    handler_faults: HandlerFaults = field(default_factory=HandlerFaults)

    @classmethod
    def sized(cls, journal_size: int) -> Controls:
        return cls(journal=Journal(journal_size))
