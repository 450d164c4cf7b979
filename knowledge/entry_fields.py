"""The fields of an entry as staff and files give them: limits, and the checks that turn what
was typed into what is stored (or a DomainError naming the field)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from infra.errors import DomainError
from knowledge.models import Topic
from knowledge.text import normalize

MAX_QUESTION = 1000  # some published sets run part of the answer into the question
MAX_ANSWER = 20_000
MAX_SIMILAR = 50
MAX_NOTE = 300
MAX_TOPIC = 40


def bad_field(field: str, message: str, code: str = "bad_field") -> DomainError:
    return DomainError(code, message, field=field)


def clean_text(value: Any, key: str, label: str, max_len: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_field(key, f"{label}格式不正确")
    text = value.strip()
    if not text and required:
        raise bad_field(key, f"请填写{label}", "missing_field")
    if len(text) > max_len:
        raise bad_field(key, f"{label}不能超过{max_len}个字")
    return text


def clean_similar(value: Any, question: str = "") -> list[str]:
    """Similar questions from a list or one per line; blanks, repeats and the standard question
    itself (as the matcher sees them) dropped."""
    if value is None or value == "":
        items: list[Any] = []
    elif isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise bad_field("similar", "相似问法格式不正确，应为每行一条")
    seen = {normalize(question)} if question else set()
    out = []
    for item in items:
        if not isinstance(item, str):
            raise bad_field("similar", "相似问法格式不正确，应为每行一条")
        text = item.strip()
        if not text:
            continue
        if len(text) > MAX_QUESTION:
            raise bad_field("similar", f"每条相似问法不能超过{MAX_QUESTION}个字")
        key = normalize(text) or text
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    if len(out) > MAX_SIMILAR:
        raise bad_field("similar", f"相似问法最多{MAX_SIMILAR}条")
    return out


def parse_date(value: Any, key: str = "review_by", label: str = "复核日期") -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        m = re.fullmatch(r"(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?(?:[ T].*)?", text)
        if m:
            try:
                return dt.date(*(int(g) for g in m.groups()))
            except ValueError:
                pass
    raise bad_field(key, f"{label}格式不正确，应为如 2027-06-30 的日期")


async def _topic_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_field("topic_id", "主题格式不正确")
    try:
        topic_id = int(value)
    except ValueError:
        raise bad_field("topic_id", "主题格式不正确") from None
    if not await Topic.filter(id=topic_id).exists():
        raise bad_field("topic_id", "所选主题不存在")
    return topic_id


async def clean_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The entry fields present in ``data`` (all of them unless ``partial``), checked."""
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体须为JSON对象")
    out: dict[str, Any] = {}
    if not partial or "question" in data:
        out["question"] = clean_text(
            data.get("question"), "question", "标准问题", MAX_QUESTION, required=True
        )
    if not partial or "similar" in data:
        out["similar"] = clean_similar(data.get("similar"), out.get("question", ""))
    if not partial or "answer" in data:
        out["answer"] = clean_text(data.get("answer"), "answer", "答案", MAX_ANSWER, required=False)
    if not partial or "topic_id" in data:
        out["topic_id"] = await _topic_id(data.get("topic_id"))
    if not partial or "review_by" in data:
        out["review_by"] = parse_date(data.get("review_by"))
    return out
