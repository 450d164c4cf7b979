"""Roles and what they may see and do.

- admin: system administration only (units, staff) in their unit's subtree; holds no other role
  (004 §10(四): administration, editing and review are separate).
- editor, reviewer, handler: their own unit's data.
- leader: their unit and its subunits.
- supervisor: reads everything, changes nothing outside supervision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.errors import DomainError, Forbidden

ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "editor": "编辑",
    "reviewer": "审核员",
    "handler": "办理人",
    "leader": "领导",
    "supervisor": "督查人员",
}
# Roles whose scope covers the subunits of their own unit.
SUBTREE_ROLES = {"admin", "leader"}


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise DomainError("unknown_role", f"未知角色：{'、'.join(unknown)}")
    if not roles:
        raise DomainError("no_role", "至少需要一个角色")
    if "admin" in roles and len(set(roles)) > 1:
        raise DomainError(
            "admin_exclusive",
            "系统管理员不得兼任编辑、审核、办理等内容角色（系统管理与内容编辑、审核相分离）",
        )
    return sorted(set(roles), key=list(ROLES).index)


@dataclass(frozen=True)
class Actor:
    """Who is acting, as services see it: no Quart, just the facts needed for checks and audit."""

    staff_id: int | None
    name: str
    roles: frozenset[str]
    unit_id: int | None
    unit_path: str
    unit_name: str
    ip: str = ""
    via: str = "session"  # session | token | system
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def system(cls, name: str = "系统") -> Actor:
        return cls(None, name, frozenset({"system"}), None, "/", "", via="system")

    @classmethod
    def anonymous(cls, ip: str = "") -> Actor:
        return cls(None, "", frozenset(), None, "", "", ip=ip, via="anonymous")

    def has(self, *roles: str) -> bool:
        return "system" in self.roles or bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            names = "、".join(ROLES.get(r, r) for r in roles)
            raise Forbidden(f"此操作需要以下角色之一：{names}")

    def reads_unit(self, unit_path: str) -> bool:
        """Whether this actor may see data belonging to the unit with this path."""
        if self.has("supervisor") or "system" in self.roles:
            return True
        if self.roles & SUBTREE_ROLES:
            return unit_path.startswith(self.unit_path)
        return unit_path == self.unit_path

    def manages_unit(self, unit_path: str) -> bool:
        """Whether this actor may administer the unit (as admin of an ancestor or the unit)."""
        if "system" in self.roles:
            return True
        return "admin" in self.roles and unit_path.startswith(self.unit_path)

    def scope(self, qs, unit: str = "unit"):
        """Narrow a queryset of rows that belong to a unit (via ``unit``) to what this actor reads,
        by the same rule as ``reads_unit``."""
        if self.has("supervisor") or "system" in self.roles:
            return qs
        if self.roles & SUBTREE_ROLES:
            return qs.filter(**{f"{unit}__path__startswith": self.unit_path})
        return qs.filter(**{f"{unit}_id": self.unit_id})

    @property
    def roles_label(self) -> str:
        return ",".join(sorted(self.roles))
