"""Reading fields of a request body for services: one wording of the errors everywhere."""

from __future__ import annotations

from typing import Any

from infra.errors import DomainError


def text_field(
    data: dict[str, Any], key: str, label: str, *, required: bool = True, max_len: int = 5000
) -> str:
    """``data[key]`` stripped; "请填写…" when required and empty, "…格式不正确" when not text."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DomainError("missing_field", f"请填写{label}", field=key)
        return ""
    if not isinstance(value, str):
        raise DomainError("bad_field", f"{label}格式不正确", field=key)
    value = value.strip()
    if len(value) > max_len:
        raise DomainError("too_long", f"{label}不能超过{max_len}字", field=key)
    return value
