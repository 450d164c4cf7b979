"""Demo data of our own: a fictional city (清源市) with departments, a county and a town,
and one staff member per role. Used by ``make run`` and the browser tests."""

from __future__ import annotations

from infra.deps import Deps
from org.access import Actor
from org.models import Staff, Unit
from org.service import create_staff, create_unit

DEMO_PASSWORD = "Demo2026ms"

# code, name, kind, parent code, internal, legal entity
DEMO_UNITS = [
    ("QY", "清源市人民政府", "city_gov", None, False, True),
    ("QY-BGS", "清源市人民政府办公室", "city_dept", "QY", False, True),
    ("QY-XXB", "清源市政务公开办（电子政务办）", "city_dept", "QY", False, True),
    ("QY-XFJ", "清源市信访局", "city_dept", "QY", False, True),
    ("QY-RSJ", "清源市人力资源和社会保障局", "city_dept", "QY", False, True),
    ("QY-RSJ-BGS", "市人社局办公室", "section", "QY-RSJ", True, False),
    ("QY-GJJ", "清源市住房公积金管理中心", "city_dept", "QY", False, True),
    ("QY-HX", "河西县人民政府", "county_gov", "QY", False, True),
    ("QY-HX-JYJ", "河西县教育局", "county_dept", "QY-HX", False, True),
    ("QY-HX-DQ", "河西县东桥镇人民政府", "town", "QY-HX", False, True),
]

# username, real name, mobile, unit code, roles
DEMO_STAFF = [
    ("admin", "王建国", "13800000001", "QY", ["admin"]),
    ("editor", "李晓梅", "13800000002", "QY-RSJ", ["editor"]),
    ("reviewer", "张志强", "13800000003", "QY-RSJ", ["reviewer"]),
    ("handler", "陈静", "13800000004", "QY-RSJ", ["handler"]),
    ("leader", "刘伟", "13800000005", "QY-RSJ", ["leader"]),
    ("cityleader", "赵明", "13800000006", "QY-BGS", ["leader"]),
    ("supervisor", "孙丽", "13800000007", "QY-XXB", ["supervisor"]),
    ("hxadmin", "周涛", "13800000008", "QY-HX", ["admin"]),
]


async def seed_demo(deps: Deps) -> list[tuple[str, str, str]]:
    """Idempotent: creates what is missing. Returns (username, real name, roles) of demo staff."""
    system = Actor.system("演示数据")
    for code, name, kind, parent, internal, legal in DEMO_UNITS:
        if await Unit.filter(code=code).exists():
            continue
        parent_id = (await Unit.get(code=parent)).id if parent else None
        await create_unit(
            deps,
            system,
            {
                "code": code,
                "name": name,
                "kind": kind,
                "parent_id": parent_id,
                "is_internal": internal,
                "is_legal_entity": legal,
            },
        )
    logins = []
    for username, real_name, mobile, unit_code, roles in DEMO_STAFF:
        if not await Staff.filter(username=username).exists():
            unit = await Unit.get(code=unit_code)
            await create_staff(
                deps,
                system,
                {
                    "username": username,
                    "real_name": real_name,
                    "mobile": mobile,
                    "unit_id": unit.id,
                    "roles": roles,
                    "password": DEMO_PASSWORD,
                },
            )
        logins.append((username, real_name, ",".join(roles)))
    return logins
