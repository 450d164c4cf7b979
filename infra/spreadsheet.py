"""Reading an Excel file that staff uploaded, safely: refuse what is not an .xlsx, and refuse a
"zip bomb" (a small file that unpacks to gigabytes) before openpyxl unpacks it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from infra.errors import DomainError

MAX_UNPACKED_XLSX = 64 * 1024 * 1024


def xlsx_rows(data: bytes, *, max_unpacked: int = MAX_UNPACKED_XLSX) -> Iterator[tuple[int, list]]:
    """(row number from 1, cell values) of the first sheet. Errors are DomainErrors about the
    uploaded ``file`` field, in Chinese."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = DomainError(
        "bad_file", "无法读取该 Excel 文件，请确认是 .xlsx 格式且未加密", field="file"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise unreadable from exc
    if unpacked > max_unpacked:
        raise DomainError("bad_file", "Excel 文件解压后过大，请拆分后分批导入", field="file")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise unreadable from exc
    try:
        for n, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), 1):
            yield n, list(row)
    finally:
        wb.close()


def blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
