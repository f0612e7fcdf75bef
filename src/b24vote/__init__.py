"""b24vote: a self-hostable polls server that speaks the Bitrix24 REST API of the vote module.

The package's face is light: ``import b24vote`` loads nothing else, so that ``b24vote --version`` and the other
commands pay only for what they use. ``create_app`` and ``Settings`` are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b24vote.app import create_app
    from b24vote.config import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from b24vote.app import create_app

        return create_app
    if name == "Settings":
        from b24vote.config import Settings

        return Settings
    raise AttributeError(f"module 'b24vote' has no attribute {name!r}")
