"""Export of the knowledge base as JSONL or Excel (.xlsx): working copies, in the format import
reads back (knowledge.file_format)."""

from __future__ import annotations

import io
import json
from typing import Any

from infra.errors import DomainError
from knowledge.access import require_staff
from knowledge.file_format import EXPORT_PREFIX, HEADER, escape_cell
from knowledge.models import STATUSES, Entry, Topic
from org.access import Actor
from org.models import Unit


async def export_entries(actor: Actor, *, fmt: str, status: str | None = None) -> bytes:
    """All entries (or those with ``status``), working copies, as JSONL or XLSX."""
    require_staff(actor)
    if fmt not in ("jsonl", "xlsx"):
        raise DomainError("bad_format", "导出格式只能是 JSONL 或 XLSX", field="fmt")
    qs = Entry.all().select_related("topic", "unit").order_by("id")
    if status:
        if status not in STATUSES:
            raise DomainError("bad_field", f"未知状态：{status}", field="status")
        qs = qs.filter(status=status)
    entries = await qs
    rows = [
        {
            "id": e.external_id or f"{EXPORT_PREFIX}{e.id}",
            "question": e.question,
            "similar": list(e.similar or []),
            "answer": e.answer,
            "topic": e.topic.name if isinstance(e.topic, Topic) else None,
            "unit": e.unit.code if isinstance(e.unit, Unit) else None,
            "unit_name": e.unit.name if isinstance(e.unit, Unit) else None,
            "status": e.status,
            "review_by": e.review_by.isoformat() if e.review_by else None,
            "hits": e.hits,
        }
        for e in entries
    ]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return _xlsx(rows)


def _xlsx(rows: list[dict[str, Any]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook(write_only=False)
    sheet = wb.active
    sheet.title = "知识库"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [
                escape_cell(r["id"]),
                escape_cell(r["question"]),
                escape_cell("\n".join(r["similar"])),
                escape_cell(r["answer"]),
                escape_cell(r["topic"] or ""),
                escape_cell(r["unit_name"] or ""),
                STATUSES.get(r["status"], r["status"]),
                r["review_by"] or "",
                r["hits"],
            ]
        )
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEFGHI", (12, 40, 40, 80, 16, 24, 10, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
        for cell in row:
            cell.alignment = wrap
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
