"""The knowledge base's file format, shared by import and export (JSONL and Excel).

A row is ``{"id", "question", "answer"}`` plus optional ``similar`` (list, or one per line),
``topic`` (or ``department``, as the municipal Q&A sets name it), ``unit`` (code or name),
``status`` and ``review_by``. ``id`` is the row's id in its source (Entry.external_id).
"""

from __future__ import annotations

from typing import Any

EXPORT_PREFIX = "KB"  # 编号 of an entry that came without one: KB + its own id

COLUMNS = {
    "id": ("编号", "id", "external_id"),
    "question": ("标准问题", "问题", "question"),
    "similar": ("相似问法", "相似问题", "similar"),
    "answer": ("答案", "回答", "answer"),
    "topic": ("主题", "分类", "topic", "department", "部门"),
    "unit": ("所属单位", "单位", "unit", "unit_code"),
    "status": ("状态", "status"),
    "review_by": ("复核日期", "review_by"),
    "hits": ("命中次数", "hits"),
}
HEADER = [names[0] for names in COLUMNS.values()]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """Excel runs a cell starting with "=", "+", "-" or "@" as a formula: such text gets an
    apostrophe in front (OWASP "CSV injection"), which import takes off again."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    # Undo the apostrophe that export puts before a cell Excel would run as a formula.
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
