"""The probes find their questions in the log by a marker in the text; the log masks contact
details before it stores a question, so a marker the masking touches would make a probe count
no questions at all (it once did: run tag "qqtww", read as a QQ handle)."""

from __future__ import annotations

import random

from knowledge.privacy import mask_personal
from tests.probes.harness import tag


def test_markers_survive_the_question_logs_masking():
    rng = random.Random(7)
    runs = [tag(rng.randrange(26**4, 26**5)) for _ in range(3000)]
    for run in runs:
        for marker in (f"探针{run}", f"两进程{run}"):
            for n in (0, 1, 21, 23, 24):
                mark = f"{marker}x{tag(n)}x"
                text = f"{mark}我家楼下的早餐摊每天凌晨四点就开始吵闹，能不能管一管"
                assert mark in mask_personal(text), text


def test_the_old_alphabet_did_not():
    # What the test above guards against: the masking stars a handle after "qq".
    assert "探针qqtwwxax" not in mask_personal("探针qqtwwxax我家楼下的早餐摊")
