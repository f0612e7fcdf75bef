"""The portal's language: its catalogue of the vote module's texts, looked up only where a text is written.

``get`` and ``vote`` never ask for it on their way to a success: only errors, the stop message and reports do.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from b24vote.methods import vote_texts_en, vote_texts_ru
from b24vote.methods.registry import CallContext
from b24vote.methods.vote_texts import VoteTexts

__all__ = ["CATALOGUES", "texts_for", "texts_of"]

CATALOGUES: Mapping[str, VoteTexts] = MappingProxyType({"en": vote_texts_en.TEXTS, "ru": vote_texts_ru.TEXTS})


def texts_for(language: str) -> VoteTexts:
    """The catalogue of a language ``Settings.language`` accepts."""
    return CATALOGUES[language]


def texts_of(ctx: CallContext) -> VoteTexts:
    """The catalogue of the portal a call is made on."""
    return CATALOGUES[ctx.settings.language]
