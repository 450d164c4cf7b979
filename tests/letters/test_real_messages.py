"""Screening, repeat detection and masking on real citizens' messages (MSGABench, masked)."""

from __future__ import annotations

import random

from knowledge.privacy import mask_personal
from letters.intake import submit_letter
from letters.models import Letter
from letters.screening import content_flags, similarity
from org.access import Actor
from tests.letters.conftest import load_messages


def _rewrite(text: str, rng: random.Random) -> str:
    """What a citizen does writing again about the same thing: new opening, a few clauses
    reordered or dropped, a sentence added."""
    clauses = [c for c in text.replace("。", "，").split("，") if c]
    if len(clauses) > 3:
        i = rng.randrange(1, len(clauses) - 1)
        clauses[i], clauses[i + 1] = clauses[i + 1], clauses[i]
    body = "，".join(clauses)
    return (
        rng.choice(["再次反映：", "我之前反映过，", "领导您好，"])
        + body
        + "。至今没有解决，请尽快答复！"
    )


def test_real_messages_are_rarely_flagged_as_ads_abuse_or_empty():
    rows = load_messages()
    sample = random.Random(7).sample(rows, 2000)
    flagged = [r for r in sample if content_flags("", r["text"])]
    # Real letters to a message board: a handful look empty or contain a strong word.
    assert len(flagged) / len(sample) < 0.03, [r["text"][:40] for r in flagged[:10]]


def test_repeats_score_high_and_unrelated_messages_low():
    rows = [r for r in load_messages() if len(r["text"]) >= 30]
    rng = random.Random(11)
    sample = rng.sample(rows, 300)
    hits = sum(similarity(r["text"], _rewrite(r["text"], rng)) >= 75 for r in sample)
    assert hits / len(sample) >= 0.95
    pairs = [(sample[i], sample[i + 1]) for i in range(0, len(sample) - 1, 2)]
    false = sum(similarity(a["text"], b["text"]) >= 75 for a, b in pairs)
    assert false / len(pairs) <= 0.01


async def test_repeat_detection_on_real_letters(deps, units):
    rows = [r for r in load_messages() if 40 <= len(r["text"]) <= 600]
    rng = random.Random(5)
    sample = rng.sample(rows, 120)
    bot = Actor.system("机器人")
    for i, row in enumerate(sample):
        # Three writers; each writes 40 different letters.
        await submit_letter(
            deps,
            bot,
            {
                "kind": "consultation",
                "channel": "web",
                "content": row["text"],
                "writer": {"mobile": f"1390000000{i % 3}"},
            },
        )
    again = sample[:12]
    found = 0
    for j, row in enumerate(again):
        writer = f"1390000000{j % 3}"
        letter, _ = await submit_letter(
            deps,
            bot,
            {
                "kind": "consultation",
                "channel": "web",
                "content": _rewrite(row["text"], rng),
                "writer": {"mobile": writer},
            },
        )
        repeats = [p for p in letter.proposals if p["kind"] == "repeat"]
        original = await Letter.get(content=row["text"])
        if repeats and repeats[0]["letter_id"] == original.id:
            found += 1
        # Never a letter of another writer, and never more than the one it repeats.
        assert len(repeats) <= 1, repeats
    assert found == len(again)
    # The same rewrites by a new writer are new letters.
    letter, _ = await submit_letter(
        deps,
        bot,
        {
            "kind": "consultation",
            "channel": "web",
            "content": _rewrite(again[0]["text"], rng),
            "writer": {"mobile": "13700009999"},
        },
    )
    assert not [p for p in letter.proposals if p["kind"] == "repeat"]


def test_masking_real_messages_with_planted_details():
    rows = random.Random(3).sample(load_messages(), 300)
    for row in rows:
        text = f"我叫陈建华，手机13987654321，{row['text']}身份证号110101199003071234。"
        masked = mask_personal(text)
        for secret in ("陈建华", "13987654321", "110101199003071234"):
            assert secret not in masked
