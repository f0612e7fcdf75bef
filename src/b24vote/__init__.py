"""b24vote: a self-hostable polls server that speaks the Bitrix24 REST API of the vote module."""

from b24vote.app import create_app
from b24vote.config import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "create_app"]
