"""Reading an import file (JSONL or Excel) into rows and checking each row: a bad row is
reported by its line and skipped, not imported."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from infra.errors import DomainError
from infra.spreadsheet import blank, xlsx_rows
from knowledge.access import may_import_into
from knowledge.entry_fields import MAX_ANSWER, MAX_QUESTION, MAX_TOPIC, clean_similar, parse_date
from knowledge.file_format import COLUMNS, HEADER, unescape_cell
from knowledge.models import STATUSES
from org.access import Actor
from org.models import Unit

MAX_ROWS = 20_000
_HEADER_KEYS = {name.lower(): key for key, names in COLUMNS.items() for name in names}
_STATUS_NAMES = {**{k: k for k in STATUSES}, **{v: k for k, v in STATUSES.items()}}


@dataclass
class Row:
    """A checked row of an import file, with its line number."""

    line: int
    external_id: str | None
    question: str
    similar: list[str]
    answer: str
    topic: str | None
    unit: Unit
    status: str | None
    review_by: dt.date | None
    warning: str = ""
    topic_id: int | None = None


def refuse_file(message: str, code: str = "bad_file") -> DomainError:
    return DomainError(code, message, field="file")


# ---------------------------------------------------------------- reading files


def read_rows(data: bytes, fmt: str) -> list[tuple[int, Any]]:
    """The file's rows, each with its line number (JSONL) or row number (Excel)."""
    return _xlsx_rows(data) if fmt == "xlsx" else _jsonl_rows(data)


def _jsonl_rows(data: bytes) -> list[tuple[int, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse_file("文件须为 UTF-8 编码的 JSONL（每行一个 JSON 对象）") from None
    rows: list[tuple[int, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        rows.append((n, _keys(value) if isinstance(value, dict) else value))
    return rows


def _keys(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSONL row with its keys as import knows them ("department" is the topic, "编号" the id);
    a key given under its own name wins over an alias."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = _HEADER_KEYS.get(str(name).lower(), str(name))
        if key not in out or key == name:
            out[key] = value
    return out


def _xlsx_rows(data: bytes) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    keys: dict[int, str] | None = None
    for n, raw in xlsx_rows(data):
        cells = [unescape_cell(c) for c in raw]
        if blank(cells):
            continue
        if keys is None:
            keys = _header(cells)
            continue
        rows.append((n, {k: cells[i] for i, k in keys.items() if i < len(cells)}))
        if len(rows) > MAX_ROWS:
            break
    if keys is None:
        raise refuse_file("文件中没有内容")
    return rows


def _header(cells: list[Any]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for i, cell in enumerate(cells):
        name = re.sub(r"[(（][^)）]*[)）]|[\s*:：]", "", str(cell or "")).lower()
        key = _HEADER_KEYS.get(unicodedata.normalize("NFKC", name))
        if key is not None and key not in keys.values():
            keys[i] = key
    missing = [COLUMNS[k][0] for k in ("question", "answer") if k not in keys.values()]
    if missing:
        raise refuse_file(
            f"表头缺少必需的列：{'、'.join(missing)}。第一行应为列名：{'、'.join(HEADER)}"
        )
    return keys


# ---------------------------------------------------------------- checking rows


class LineError(Exception):
    pass


def _text_cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LineError(f"“{key}”格式不正确")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _question(raw: str) -> tuple[str, str]:
    """The standard question, and a warning when a too-long one had to be shortened (some
    published sets run the first lines of the answer into the question)."""
    if len(raw) <= MAX_QUESTION:
        return raw, ""
    m = re.search(r"[？?]", raw)
    short = raw[: m.end()] if m and m.end() <= MAX_QUESTION else raw[: MAX_QUESTION - 1] + "…"
    return short, f"标准问题超过{MAX_QUESTION}字，已截为「{short[:30]}…」，请核对"


def _status(row: dict[str, Any]) -> str | None:
    raw = _text_cell(row, "status")
    if not raw:
        return None
    status = _STATUS_NAMES.get(raw.lower()) or _STATUS_NAMES.get(raw)
    if status is None:
        raise LineError(f"未知状态「{raw}」，应为：{'、'.join(STATUSES.values())}")
    return status


class Units:
    """Units named in a file (code or name), and whether the importer may import into them."""

    def __init__(self, actor: Actor, default: Unit) -> None:
        self.actor = actor
        self.default = default
        self._cache: dict[str, Unit] = {}

    async def load(self) -> None:
        self.units = list(await Unit.all())
        self.by_id = {u.id: u for u in self.units}

    def find(self, name: str) -> Unit:
        if not name:
            return self.default
        if name not in self._cache:
            by_code = [u for u in self.units if u.code == name]
            by_name = [u for u in self.units if u.name == name]
            found = by_code or by_name
            if not found:
                raise LineError(f"单位「{name}」不存在")
            if len(found) > 1:
                raise LineError(f"有多个名为「{name}」的单位，请填写单位代码")
            self._cache[name] = found[0]
        unit = self._cache[name]
        if not may_import_into(self.actor, unit):
            raise LineError(f"无权向「{unit.name}」导入知识条目")
        return unit


async def check_row(n: int, row: Any, units: Units) -> Row:
    if not isinstance(row, dict):
        raise LineError("不是有效的 JSON 对象")
    external_id = _text_cell(row, "id") or None
    if external_id and len(external_id) > 64:
        raise LineError("编号不能超过64个字符")
    question, warning = _question(_text_cell(row, "question"))
    if not question:
        raise LineError("缺少标准问题")
    answer = _text_cell(row, "answer")
    if not answer:
        raise LineError("缺少答案")
    if len(answer) > MAX_ANSWER:
        raise LineError(f"答案超过{MAX_ANSWER}字")
    topic = _text_cell(row, "topic") or None
    if topic and len(topic) > MAX_TOPIC:
        raise LineError(f"主题名称超过{MAX_TOPIC}字")
    try:
        similar = clean_similar(row.get("similar"), question)
        review_by = parse_date(row.get("review_by"))
    except DomainError as err:
        raise LineError(err.message) from None
    unit = units.find(_text_cell(row, "unit"))
    return Row(
        n, external_id, question, similar, answer, topic, unit, _status(row), review_by, warning
    )
