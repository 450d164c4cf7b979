"""The quarterly bulletin from hand-built records: the third quarter of 2026 (1 July to
30 September), the clock standing on Monday 23 November 2026. Three units' accounts:

- 清源人社 (人社局) posts every week, one letter answered on time and rated satisfied: 100;
- 河西教育 (教育局) posts every week, one repost without its source (-2), a letter answered late
  (-2) and rated dissatisfied (-1): 95;
- 清源公积金 (公积金中心) stopped posting in July: vetoed (no post in the 14 days before the check),
  its letters overdue, waiting, declined, and one of June still overdue.

Figures, rectification items due in the quarter done on time or not, the draft edited then
issued (no edits after), a rebuild with the same figures, the XLSX opened with openpyxl, the PDF
read back with pdftotext, the charts, and each unit's staff seeing their own rows."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from accounts.models import Account, Post
from infra.clock import SHANGHAI
from infra.errors import DomainError, Forbidden, NotFound
from letters.models import Letter, Rating
from org.models import AuditRecord, Unit
from supervision import bulletin, charts
from supervision.export import bulletin_xlsx
from supervision.models import RectifyItem, Report, ReportRow
from supervision.pdf import bulletin_pdf, weekly_pdf
from tests.conftest import IN_CI

Q3 = (2026, 3)


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


async def account(unit: Unit, platform: str, name: str) -> Account:
    return await Account.create(
        code=f"{unit.code}-{platform}".lower(),
        unit=unit,
        platform=platform,
        name=name,
        certified_subject=unit.name,
        status="active",
        opened_on=dt.date(2025, 1, 1),
        live_slot=f"{unit.id}:{platform}",
        created_at=at(1, 1),
        updated_at=at(1, 1),
    )


async def weekly_posts(acc: Account, first: dt.date, last: dt.date, **kw) -> None:
    day = first
    while day <= last:
        moment = dt.datetime.combine(day, dt.time(10), tzinfo=SHANGHAI)
        await Post.create(
            account=acc, title=f"{acc.name}{day}", published_at=moment, created_at=moment, **kw
        )
        day += dt.timedelta(days=7)


async def letter(code, unit, received, due, replied=None, account=None, status=None) -> Letter:
    return await Letter.create(
        code=code,
        kind="consultation",
        channel="web",
        account=account,
        content="咨询",
        status=status or ("replied" if replied else "handling"),
        unit=unit,
        received_at=received,
        due_on=due,
        replied_at=replied,
        updated_at=received,
    )


@pytest.fixture
async def quarter(demo_units):
    rsj, jyj, gjj = (demo_units[c] for c in ("QY-RSJ", "QY-HX-JYJ", "QY-GJJ"))
    a_rsj = await account(rsj, "wechat", "清源人社")
    a_jyj = await account(jyj, "douyin", "河西教育")
    a_gjj = await account(gjj, "weibo", "清源公积金")
    # Wednesdays from 1 July to 30 September: one post in every week of the quarter.
    await weekly_posts(a_rsj, dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    await weekly_posts(a_jyj, dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    await weekly_posts(a_gjj, dt.date(2026, 7, 1), dt.date(2026, 7, 8))
    await Post.create(
        account=a_jyj,
        title="转载无来源",
        published_at=at(8, 12),
        created_at=at(8, 12),
        is_repost=True,
        source_name="",
    )

    one = await letter("RSJAA-11111", rsj, at(7, 10), dt.date(2026, 7, 20), at(7, 15), a_rsj)
    await Rating.create(letter=one, round=0, satisfied=True, unit=rsj, at=at(7, 16))
    late = await letter("JYJAA-22222", jyj, at(8, 3), dt.date(2026, 8, 13), at(8, 20), a_jyj)
    await Rating.create(letter=late, round=0, satisfied=False, unit=jyj, at=at(8, 21))
    await letter("GJJAA-33333", gjj, at(9, 20), dt.date(2026, 9, 28))  # overdue at the check
    await letter("GJJAA-44444", gjj, at(9, 25), dt.date(2026, 10, 10))  # not yet due
    await letter("GJJAA-55555", gjj, at(8, 1), None, status="declined")
    await letter("GJJAA-66666", gjj, at(6, 1), dt.date(2026, 6, 10))  # June's, still overdue
    await letter("GJJAA-77777", gjj, at(10, 5), dt.date(2026, 10, 15))  # the next quarter's

    # Rectification items of the monthly lists, by due date and as they stood on 30 September.
    for code, acc, due, answered, verified in (
        ("a", a_jyj, (8, 10), (8, 5), (8, 6)),  # done on time
        ("b", a_jyj, (9, 15), (9, 20), (9, 21)),  # done late
        ("c", a_gjj, (9, 25), None, None),  # never done
        ("d", a_gjj, (9, 28), (9, 27), (10, 3)),  # verified after the check: not done at it
        ("e", a_gjj, (10, 20), None, None),  # due in the next quarter
    ):
        await RectifyItem.create(
            month=dt.date(2026, 7, 1),
            unit_id=acc.unit_id,
            account=acc,
            account_name=acc.name,
            kind="deduction",
            code=code,
            label="当周未更新",
            rubric_version=1,
            due_on=dt.date(2026, *due),
            status="done" if verified else "open",
            answered_at=at(*answered) if answered else None,
            verified_at=at(*verified) if verified else None,
            created_at=at(7, 1),
            updated_at=at(7, 1),
        )
    return {"rsj": rsj, "jyj": jyj, "gjj": gjj}


async def test_the_figures_of_a_quarter(db, deps, actors, quarter):
    report = await bulletin.build_quarter(deps, actors["supervisor"], *Q3)
    assert (report.kind, report.status, report.rubric_version) == ("quarterly", "draft", 1)
    assert (report.period_start, report.period_end) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    d = report.data
    assert (d["checked"], d["passed"], d["vetoed"], d["pass_rate"]) == (3, 2, 1, 66.7)
    assert d["bands"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 2]  # 100 and 95; the vetoed one apart
    assert "accounts" not in d  # each account's row is kept apart (sup_report_row)
    assert d["office"] == "清源市政务公开办（电子政务办）"  # the supervisor's unit
    ranked = [(u["rank"], u["unit_name"], u["score"]) for u in d["units"]]
    assert ranked == [
        (1, "清源市人力资源和社会保障局", 100.0),
        (2, "河西县教育局", 95.0),
        (3, "清源市住房公积金管理中心", 0.0),  # vetoed
    ]
    [veto] = d["vetoes"]
    assert (veto["name"], veto["unit_name"]) == ("清源公积金", "清源市住房公积金管理中心")
    assert veto["problems"] == ["监测前14天内未发布信息"]
    named = {(p["name"], p["label"]): (p["count"], p["points"]) for p in d["problems"]}
    assert d["problem_count"] == 4
    assert named == {
        ("清源公积金", "当周未更新"): (11, 20),  # 12 whole weeks, one with a post; capped
        ("河西教育", "转载未注明来源"): (1, 2),
        ("河西教育", "留言逾期答复"): (1, 2),
        ("河西教育", "答复不满意"): (1, 1),
    }
    total = d["letters"]["total"]
    assert {
        k: total[k]
        for k in (
            "received",
            "on_time",
            "late",
            "overdue",
            "pending",
            "declined",
            "earlier_overdue",
            "rated",
            "satisfied",
        )
    } == {
        "received": 5,
        "on_time": 1,
        "late": 1,
        "overdue": 1,
        "pending": 1,
        "declined": 1,
        "earlier_overdue": 1,
        "rated": 2,
        "satisfied": 1,
    }
    assert (total["on_time_rate"], total["satisfaction"]) == (33.3, 50.0)
    units = {u["unit_name"]: u for u in d["letters"]["units"]}
    assert (units["清源市住房公积金管理中心"]["received"], units["河西县教育局"]["late"]) == (3, 1)
    assert units["清源市人力资源和社会保障局"]["satisfaction"] == 100.0
    # Trends: the 12 whole weeks to Sunday 27 September, and four quarters to this one.
    weeks = d["activity"]
    assert [weeks[0]["week"], weeks[-1]["week"], len(weeks)] == ["2026-07-06", "2026-09-21", 12]
    assert (weeks[0]["posts"], weeks[0]["active"]) == (3, 3)  # 公积金's last week
    assert [w["posts"] for w in weeks[1:]] == [2, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2]  # the repost
    assert [q["label"] for q in d["letters_trend"]] == [
        "2025年第4季度",
        "2026年第1季度",
        "2026年第2季度",
        "2026年第3季度",
    ]
    assert [(q["overdue"], q["rate"]) for q in d["letters_trend"]] == [
        (0, None),
        (0, None),
        (1, 0.0),
        (1, 33.3),
    ]
    rect = d["rectification"]
    assert {k: rect[k] for k in ("due", "on_time", "late", "open", "on_time_rate")} == {
        "due": 4,
        "on_time": 1,
        "late": 1,
        "open": 2,
        "on_time_rate": 25.0,
    }
    assert [(u["unit_name"], u["due"], u["open"]) for u in rect["units"]] == [
        ("清源市住房公积金管理中心", 2, 2),
        ("河西县教育局", 2, 0),
    ]
    assert report.opening.startswith("为进一步加强政府网站和政务新媒体管理")
    assert "对全市3个政务新媒体账号2026年第三季度（7月1日至9月30日）" in report.opening
    assert "一是压实主体责任" in report.requirements
    audit = await AuditRecord.get(action="report.build")
    assert "2026年第三季度通报" in audit.summary


async def test_only_finished_quarters_by_supervisors(db, deps, actors, quarter):
    with pytest.raises(DomainError) as exc:
        await bulletin.build_quarter(deps, actors["supervisor"], 2026, 4)
    assert "尚未结束" in exc.value.message
    with pytest.raises(DomainError):
        await bulletin.build_quarter(deps, actors["supervisor"], 2026, 5)
    for who in ("admin", "editor", "leader"):
        with pytest.raises(Forbidden):
            await bulletin.build_quarter(deps, actors[who], *Q3)
    assert await Report.filter(kind="quarterly").count() == 0


async def test_a_draft_is_edited_then_issued_and_never_changed_again(db, deps, actors, quarter):
    s = actors["supervisor"]
    await bulletin.build_quarter(deps, s, *Q3)
    with pytest.raises(Forbidden):
        await bulletin.edit_bulletin(deps, actors["editor"], *Q3, "改", "")
    with pytest.raises(DomainError) as exc:
        await bulletin.edit_bulletin(deps, s, *Q3, "  ", "要求")
    assert exc.value.message == "请填写通报的开头部分"
    edited = await bulletin.edit_bulletin(
        deps, s, *Q3, "为加强政务新媒体管理，现将第三季度检查情况通报如下。", "各单位抓好整改。"
    )
    assert edited.opening == "为加强政务新媒体管理，现将第三季度检查情况通报如下。"
    record = await AuditRecord.get(action="report.edit")
    assert record.after["requirements"] == "各单位抓好整改。"
    assert record.before["opening"].startswith("为进一步加强")

    # Unit staff do not see a draft.
    with pytest.raises(NotFound):
        await bulletin.get_bulletin(actors["editor"], *Q3)
    assert await bulletin.list_bulletins(actors["editor"]) == []

    issued = await bulletin.issue_bulletin(deps, s, *Q3)
    assert issued.status == "issued" and issued.issued_at == deps.clock.now()
    assert await AuditRecord.filter(action="report.issue").count() == 1
    with pytest.raises(DomainError) as exc:
        await bulletin.edit_bulletin(deps, s, *Q3, "再改", "")
    assert exc.value.message == "通报已印发，不能再修改"
    with pytest.raises(DomainError):
        await bulletin.issue_bulletin(deps, s, *Q3)
    with pytest.raises(DomainError) as exc:
        await bulletin.build_quarter(deps, s, *Q3, rebuild=True)
    assert "已印发" in exc.value.message
    again = await Report.get(id=issued.id)
    assert again.opening == edited.opening and again.status == "issued"
    assert (await bulletin.get_bulletin(actors["editor"], *Q3)).id == issued.id


async def test_a_rebuilt_quarter_has_the_same_figures(db, deps, actors, quarter, clock):
    s = actors["supervisor"]
    first = await bulletin.build_quarter(deps, s, *Q3)
    first_rows = (await bulletin.readable(s, first))["accounts"]
    assert [r["name"] for r in first_rows] == ["清源人社", "清源公积金", "河西教育"]
    await bulletin.edit_bulletin(deps, s, *Q3, "开头已改", "要求已改")
    await deps_edit_rubric(deps, actors)
    # Later: the overdue letters are answered, the idle account posts, the clock moves on.
    clock.advance(days=20)
    await Letter.filter(code__in=["GJJAA-33333", "GJJAA-66666"]).update(
        replied_at=clock.now(), status="replied"
    )
    gjj = await Account.get(name="清源公积金")
    await weekly_posts(gjj, dt.date(2026, 11, 25), dt.date(2026, 12, 9))
    rebuilt = await bulletin.build_quarter(deps, s, *Q3, rebuild=True)
    assert rebuilt.id == first.id and rebuilt.rubric_version == 1
    assert rebuilt.data == first.data
    assert (await bulletin.readable(s, rebuilt))["accounts"] == first_rows
    assert await ReportRow.filter(report_id=first.id).count() == 3  # replaced, not added
    assert (rebuilt.opening, rebuilt.requirements) == ("开头已改", "要求已改")
    assert rebuilt.built_at == clock.now()
    assert await AuditRecord.filter(action="report.rebuild").count() == 1
    # Without rebuild, the stored bulletin is returned as it is.
    assert (await bulletin.build_quarter(deps, s, *Q3)).built_at == rebuilt.built_at


async def deps_edit_rubric(deps, actors) -> None:
    from supervision import patrol

    await patrol.edit_rubric(
        deps, actors["admin"], {"deductions": {"weekly_minimum": {"points": 10, "cap": 40}}}
    )


async def test_unit_staff_see_their_own_rows(db, deps, actors, quarter):
    report = await bulletin.build_quarter(deps, actors["supervisor"], *Q3)
    everything = await bulletin.readable(actors["supervisor"], report)
    assert len(everything["accounts"]) == 3 and everything["vetoes"] == report.data["vetoes"]
    assert everything["problems"] == report.data["problems"]
    gjj = await bulletin.readable(actors["gjjeditor"], report)
    assert [v["name"] for v in gjj["vetoes"]] == ["清源公积金"]
    assert {p["name"] for p in gjj["problems"]} == {"清源公积金"}
    assert [a["name"] for a in gjj["accounts"]] == ["清源公积金"]
    assert [u["unit_name"] for u in gjj["letters"]["units"]] == ["清源市住房公积金管理中心"]
    assert [u["unit_name"] for u in gjj["rectification"]["units"]] == ["清源市住房公积金管理中心"]
    assert len(gjj["units"]) == 3 and gjj["letters"]["total"]["received"] == 5  # not secret
    rsj = await bulletin.readable(actors["editor"], report)
    assert rsj["vetoes"] == [] and {p["name"] for p in rsj["problems"]} == set()
    assert [u["unit_name"] for u in rsj["letters"]["units"]] == ["清源市人力资源和社会保障局"]
    # A county leader reads the county's units below.
    county = await Unit.get(code="QY-HX")
    leader = actors["leader"].__class__(
        None, "县领导", frozenset({"leader"}), county.id, county.path, county.name
    )
    below = await bulletin.readable(leader, report)
    assert {p["name"] for p in below["problems"]} == {"河西教育"}


async def test_the_bulletin_as_xlsx(db, deps, actors, quarter):
    report = await bulletin.build_quarter(deps, actors["supervisor"], *Q3)
    data = await bulletin.readable(actors["supervisor"], report, every_problem=True)
    wb = openpyxl.load_workbook(io.BytesIO(bulletin_xlsx(report, data)))
    assert wb.sheetnames == [
        "概况",
        "单位排名",
        "账号得分",
        "单项否决",
        "扣分问题",
        "整改落实",
        "留言办理",
        "发布趋势",
        "留言按期趋势",
    ]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
    summary = dict(wb["概况"].iter_rows(min_row=2, values_only=True))
    assert (summary["检查账号数"], summary["合格账号数"], summary["单项否决账号数"]) == (3, 2, 1)
    assert summary["合格率"] == 0.667 and summary["按期答复率"] == 0.333
    assert summary["状态"] == "草稿" and summary["到期整改事项"] == 4
    assert summary["按期整改率"] == 0.25
    fixes = {r[0]: r for r in wb["整改落实"].iter_rows(min_row=2, values_only=True)}
    assert fixes["合计"] == ("合计", 4, 1, 1, 2, 0.25)
    ranked = list(wb["单位排名"].iter_rows(min_row=2, values_only=True))
    assert ranked[0] == (1, "清源市人力资源和社会保障局", 1, 1, 0, 100)
    assert ranked[2][1:] == ("清源市住房公积金管理中心", 1, 0, 1, 0)
    assert wb["单位排名"]._charts and wb["发布趋势"]._charts and wb["留言按期趋势"]._charts
    assert wb["单位排名"].column_dimensions["B"].width == 28
    [veto] = wb["单项否决"].iter_rows(min_row=2, values_only=True)
    assert veto[:4] == ("清源市住房公积金管理中心", "清源公积金", "微博", "监测前14天内未发布信息")
    letters = {r[0]: r for r in wb["留言办理"].iter_rows(min_row=2, values_only=True)}
    assert letters["合计"][1:5] == (5, 1, 1, 1) and letters["合计"][10] == 0.333
    assert wb["留言办理"].cell(2, 11).number_format == "0.0%"
    weeks = list(wb["发布趋势"].iter_rows(min_row=2, values_only=True))
    assert weeks[0] == ("2026-07-06", 3, 3) and len(weeks) == 12


def pdf_text(body: bytes, tmp_path, *options: str) -> str:
    if shutil.which("pdftotext") is None:
        message = "pdftotext not available: apt install poppler-utils"
        if IN_CI:
            pytest.fail(message + " - CI must run every test", pytrace=False)
        pytest.skip(message)
    path = tmp_path / "out.pdf"
    path.write_bytes(body)
    done = subprocess.run(
        ["pdftotext", *options, str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8")


def squeezed(text: str) -> str:
    """pdftotext's text without the spaces and line breaks of the layout."""
    return "".join(text.split())


async def test_the_bulletin_as_pdf(db, deps, actors, quarter, tmp_path):
    s = actors["supervisor"]
    await bulletin.build_quarter(deps, s, *Q3)
    report = await bulletin.edit_bulletin(
        deps,
        s,
        *Q3,
        "为加强政务新媒体管理，现将检查情况通报如下。",
        "一是抓好整改。\n二是按期答复。",
    )
    body = bulletin_pdf(report, report.data)
    assert body.startswith(b"%PDF-")
    text = pdf_text(body, tmp_path)
    flat = squeezed(text)
    for shown in (
        "关于2026年第三季度政务新媒体检查情况的通报",
        "各有关单位：",
        "为加强政务新媒体管理，现将检查情况通报如下。",
        "本季度共检查政务新媒体账号3个，合格2个，合格率66.7%；被单项否决1个。",
        "清源市人力资源和社会保障局",
        "监测前14天内未发布信息",
        "当周未更新",
        "本季度共收到群众留言5件，其中按期答复1件，逾期答复1件，逾期未答复1件",
        "按期答复率33.3%",
        "本季度到期整改事项4项，按期完成1项，逾期完成1项，截至季度末尚未完成2项，按期整改率25%。",
        "满意率50%",
        "一是抓好整改。",
        "二是按期答复。",
        "清源市政务公开办（电子政务办）",
        "2026年11月23日",
        "草稿（未印发）",
    ):
        assert shown in flat, shown
    pages = text.count("\f")
    assert pages >= 2
    assert f"第1页共{pages}页" in flat and f"第{pages}页共{pages}页" in flat
    # The ranking table: rank, unit and score on one line.
    layout = pdf_text(body, tmp_path, "-layout")
    assert any(
        re.search(r"2\s+河西县教育局\s+1\s+1\s+0\s+95", line) for line in layout.splitlines()
    )

    issued = await bulletin.issue_bulletin(deps, s, *Q3)
    flat = squeezed(pdf_text(bulletin_pdf(issued, issued.data), tmp_path))
    assert "草稿" not in flat


async def test_the_weekly_patrol_as_pdf(db, deps, actors, quarter, tmp_path):
    from supervision import patrol

    report = await patrol.build_weekly(deps, actors["supervisor"], dt.date(2026, 9, 23))
    data = {**report.data, "accounts": await patrol.report_rows(actors["supervisor"], report)}
    flat = squeezed(pdf_text(weekly_pdf(report, data, 60), tmp_path))
    for shown in (
        "政务新媒体周巡查报告",
        "2026年9月21日至2026年9月27日",
        "本周共巡查政务新媒体账号3个，合格2个，被单项否决1个",
        "清源公积金",
        "监测前14天内未发布信息",
        "第1页共",
    ):
        assert shown in flat, shown


def test_charts_are_valid_svg_and_png():
    units = [{"rank": i + 1, "unit_name": f"第{i + 1}单位", "score": 100 - 7 * i} for i in range(8)]
    weeks = [{"week": f"2026-09-{d:02d}", "posts": d, "active": 2} for d in range(1, 13)]
    quarters = [
        {
            "label": f"2026年第{q}季度",
            "on_time": 4,
            "late": 1,
            "overdue": q % 2,
            "rate": 80.0 if q % 2 == 0 else 66.7,
        }
        for q in range(1, 5)
    ]
    made = {
        "score": (charts.score_distribution, (bulletin.score_bands([100, 95, 40, 80]), 60, 1)),
        "units": (charts.units_ranked, (units, 60)),
        "activity": (charts.activity_trend, (weeks,)),
        "letters": (charts.letters_trend, (quarters,)),
    }
    from PIL import Image

    for name, (draw, args) in made.items():
        svg = draw(*args)
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert "viewBox" in root.attrib and "width" not in root.attrib  # scales with the page
        assert "http://" not in svg.replace("http://www.w3.org", "").replace(
            "http://purl.org", ""
        ).replace("http://creativecommons.org", ""), name  # nothing fetched
        assert "<style" not in svg  # no rule leaking onto the page
        png = draw(*args, fmt="png")
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.size[0] == 960, name
        assert len(png) < 60_000, name
    svg = charts.units_ranked(units, 60)
    assert "各单位得分排名" in svg and "1. 第1单位" in svg  # text kept as text
    assert charts.cjk_font() is not None  # fonts-wqy-zenhei, installed by .ci/run
    many = [{"rank": i + 1, "unit_name": f"单位{i + 1}", "score": 100 - i / 2} for i in range(60)]
    svg = charts.units_ranked(many, 60)
    assert "1. 单位1" in svg and "60. 单位60" in svg and "……" in svg and "30. 单位30" not in svg


def _y_ticks(svg: str) -> list[str]:
    """The chart's numbers as drawn (text kept as text): the axis' ticks among the labels."""
    return re.findall(r">(-?\d+(?:\.\d+)?)<", svg)


def test_count_axes_are_whole_numbers_from_zero_even_when_empty():
    """A quarter without letters drew 留言件数 from -0.075 to 0.075, and weeks of one or two
    posts ticks of 0.5 posts, in the bulletin that is sent to every unit."""
    quarters = [
        {"label": f"2026年第{q}季度", "on_time": 0, "late": 0, "overdue": 0, "rate": None}
        for q in range(1, 5)
    ]
    weeks = [{"week": f"2026-09-{d:02d}", "posts": d % 3, "active": 1} for d in range(1, 13)]
    drawn = {
        "letters": charts.letters_trend(quarters),
        "score": charts.score_distribution([0] * 10, 60, 0),
        "activity": charts.activity_trend(weeks),
    }
    for name, svg in drawn.items():
        ticks = _y_ticks(svg)
        assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), (name, ticks)
        assert "0" in ticks and "1" in ticks, (name, ticks)
