"""Letters whose reply became a knowledge-base entry, as signals for fitting the office's matcher
(knowledge/tuning.py): the letter's question is a citizen's own wording of what that entry answers.

Registered on the deps in quart_app (knowledge does not import letters). The text leaves masked
as the entry proposed from it was: the writer's name, mobile and platform id, then the general
patterns; never the writer's identity.
"""

from __future__ import annotations

import logging

from infra.deps import Deps
from infra.errors import DomainError
from knowledge.office_fit import Signal
from letters.models import Letter
from letters.writer import mask_writer, unseal

log = logging.getLogger(__name__)

MAX_LETTERS = 20_000
MAX_TEXT = 300  # as the question of the entry proposed from it


async def letter_signals(deps: Deps) -> list[Signal]:
    rows = (
        await Letter.filter(kb_entry_id__isnull=False)
        .order_by("-id")
        .limit(MAX_LETTERS)
        .values_list("id", "title", "content", "writer_sealed", "kb_entry_id")
    )
    signals = []
    for letter_id, title, content, sealed, entry_id in rows:
        try:
            writer = unseal(deps.settings, sealed)
        except DomainError:
            # Without the writer we cannot take their name out: the letter is left out.
            log.warning("letter #%s: writer cannot be unsealed, not used for fitting", letter_id)
            continue
        text = mask_writer(title or content, writer).strip()[:MAX_TEXT]
        if text:
            signals.append(Signal(text, str(entry_id), True, "letter"))
    return signals
