"""Reports as PDF documents (reportlab): A4 in the layout of an official document, the Chinese
font embedded (a subset of WenQuanYi Zen Hei, found on the system), the charts as PNG, tables
whose header repeats on each page, and "第 N 页 共 M 页" at the foot of every page.

Rendering is synchronous and takes a second or so with its charts: callers on the event loop run
it in a thread.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from infra.clock import beijing_date
from infra.errors import DomainError
from supervision import charts
from supervision.bulletin import cn_date, quarter_bounds, score_bands, signed_on, title
from supervision.export import PLATFORM_LABELS
from supervision.models import Report

FONT = "MinshengCJK"
# TrueType outlines only: reportlab embeds glyf fonts, not the CFF of Noto CJK's OTF/TTC.
FONT_FILES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
)
MM = 72 / 25.4
# GB/T 9704 margins: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
MARGINS = {
    "topMargin": 37 * MM,
    "bottomMargin": 35 * MM,
    "leftMargin": 28 * MM,
    "rightMargin": 26 * MM,
}
FRAME_WIDTH = (210 - 28 - 26) * MM
# Wide lists (a month's rectification items, a year's annual reports) on A4 turned sideways.
LANDSCAPE_MARGINS = {
    "topMargin": 25 * MM,
    "bottomMargin": 30 * MM,
    "leftMargin": 25 * MM,
    "rightMargin": 25 * MM,
}
LANDSCAPE_WIDTH = (297 - 25 - 25) * MM
FRAME_HEIGHT = (297 - 37 - 35) * MM - 24  # room for the paragraph the chart follows
TABLE_ROWS_LIMIT = 60  # named problems printed; the rest are in the Excel file


@functools.cache
def register_font() -> str:
    """Registers the first CJK TrueType font found (a TTC's first face) under ``FONT``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path, index in FONT_FILES:
        try:
            font = TTFont(FONT, path) if index is None else TTFont(FONT, path, subfontIndex=index)
        except (OSError, TTFError):
            continue
        pdfmetrics.registerFont(font)
        return FONT
    raise DomainError("no_font", "服务器未安装中文字体（fonts-wqy-zenhei），无法导出 PDF")


@functools.cache
def _styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    font = register_font()
    base = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=14,
        leading=25,
        wordWrap="CJK",
        alignment=TA_JUSTIFY,
        firstLineIndent=28,
    )
    return {
        "title": ParagraphStyle(
            "title",
            base,
            fontSize=20,
            leading=32,
            alignment=TA_CENTER,
            firstLineIndent=0,
            spaceAfter=6,
        ),
        "subtitle": ParagraphStyle(
            "subtitle",
            base,
            fontSize=13,
            leading=22,
            alignment=TA_CENTER,
            firstLineIndent=0,
            spaceAfter=12,
        ),
        "draft": ParagraphStyle(
            "draft",
            base,
            fontSize=11,
            leading=16,
            alignment=TA_CENTER,
            firstLineIndent=0,
            textColor="#d92d20",
        ),
        "to": ParagraphStyle("to", base, firstLineIndent=0),
        "body": base,
        "h1": ParagraphStyle(
            "h1", base, fontSize=15, leading=26, firstLineIndent=28, spaceBefore=8
        ),
        "h2": ParagraphStyle("h2", base, fontSize=14, leading=24, spaceBefore=4),
        "sign": ParagraphStyle("sign", base, alignment=TA_RIGHT, firstLineIndent=0, rightIndent=28),
        "cell": ParagraphStyle(
            "cell", base, fontSize=9.5, leading=12.5, firstLineIndent=0, alignment=0
        ),
        "head": ParagraphStyle(
            "head", base, fontSize=9.5, leading=12.5, firstLineIndent=0, alignment=TA_CENTER
        ),
        "note": ParagraphStyle(
            "note", base, fontSize=10, leading=15, firstLineIndent=0, textColor="#475467"
        ),
    }


def _p(text: Any, style: str = "body"):
    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(text)), _styles()[style])


def _paras(text: str, style: str = "body") -> list:
    return [_p(line.strip(), style) for line in text.splitlines() if line.strip()]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _cell(value: Any):
    """Text that may wrap as a paragraph; numbers and short words as plain strings, which lay
    out many times faster (a bulletin of a thousand units has tens of thousands of cells)."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) > 5:
        return _p(value, "cell")
    return str(value)


def _table(
    header: list[str],
    rows: Iterable[list[Any]],
    widths: list[float],
    frame: float = FRAME_WIDTH,
):
    """A table over the frame's width (``widths`` are shares), its header repeated."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    body = [[_p(h, "head") for h in header]]
    body += [[_cell(v) for v in row] for row in rows]
    if len(body) == 1:
        body.append([_p("无", "cell")] + [""] * (len(header) - 1))
    total = sum(widths)
    table = Table(body, colWidths=[frame * w / total for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#98a2b3")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f4f7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("FONT", (0, 1), (-1, -1), FONT, 9.5, 12.5),
            ]
        )
    )
    return table


def _chart(png: bytes):
    """The chart at its drawn size (150 dpi), narrowed to fit the frame: a ranking of many units
    is tall, and a flowable taller than the page cannot be laid out."""
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    width, height = ImageReader(io.BytesIO(png)).getSize()
    shown = min(FRAME_WIDTH, width * 72 / 150)
    if shown * height / width > FRAME_HEIGHT:
        shown = FRAME_HEIGHT * width / height
    return Image(io.BytesIO(png), width=shown, height=shown * height / width)


def _canvas_class(marker: str):
    """A canvas that holds its pages until the end to write "第 N 页 共 M 页" on each, and the
    draft marker at the head of each page of a draft."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                width, height = self._pagesize  # portrait or landscape
                self.setFont(FONT, 10.5)
                self.setFillColor("#000000")
                self.drawCentredString(width / 2, 20 * MM, f"第 {number} 页 共 {total} 页")
                if marker:
                    self.setFillColor("#d92d20")
                    self.drawRightString(width - 26 * MM, height - 20 * MM, marker)
                super().showPage()
            super().save()

    return NumberedCanvas


def _document(
    story: list, name: str, author: str, marker: str = "", *, landscape: bool = False
) -> bytes:
    from reportlab.lib import pagesizes
    from reportlab.platypus import SimpleDocTemplate

    register_font()
    out = io.BytesIO()
    size, margins = (
        (pagesizes.landscape(pagesizes.A4), LANDSCAPE_MARGINS)
        if landscape
        else (pagesizes.A4, MARGINS)
    )
    doc = SimpleDocTemplate(
        out, pagesize=size, title=name, author=author, subject=name, creator="民声", **margins
    )
    doc.build(story, canvasmaker=_canvas_class(marker))
    return out.getvalue()


def _figures_note(data: dict[str, Any]) -> str:
    t = data["letters"]["total"]
    text = (
        f"本季度共收到群众留言{t['received']}件，其中按期答复{t['on_time']}件，逾期答复"
        f"{t['late']}件，逾期未答复{t['overdue']}件，尚在办理期限内{t['pending']}件，不予受理"
        f"{t['declined']}件，按期答复率{_pct(t['on_time_rate'])}。"
    )
    if t["earlier_overdue"]:
        text += f"此前各期仍有{t['earlier_overdue']}件留言逾期未答复。"
    text += f"群众评价{t['rated']}件，满意{t['satisfied']}件，满意率{_pct(t['satisfaction'])}。"
    return text


def bulletin_pdf(report: Report, data: dict[str, Any]) -> bytes:
    """The quarterly bulletin as the office issues it; a draft says so on every page."""
    from reportlab.platypus import KeepTogether, Spacer

    year, quarter = data["year"], data["quarter"]
    start, end = quarter_bounds(year, quarter)
    name = title(year, quarter)
    units, letters = data["units"], data["letters"]
    story: list = [_p(name, "title")]
    story.append(
        _p(f"（{start.year}年{start.month}月{start.day}日至{end.month}月{end.day}日）", "subtitle")
    )
    story += [_p("各有关单位：", "to"), *_paras(report.opening)]

    story.append(_p("一、总体情况", "h1"))
    story.append(
        _p(
            f"本季度共检查政务新媒体账号{data['checked']}个，合格{data['passed']}个，合格率"
            f"{_pct(data['pass_rate'])}；被单项否决{data['vetoed']}个。检查按评分细则第"
            f" {report.rubric_version} 版进行：出现单项否决情形的账号直接判定为不合格，其余账号"
            f"以100分为基础扣分，低于{data['pass_score']:g}分为不合格。"
        )
    )
    # The charts are of the whole city, as on the page: counts, the ranking, totals.
    whole = report.data
    story.append(
        _chart(
            charts.score_distribution(
                whole["bands"], whole["pass_score"], whole["vetoed"], fmt="png"
            )
        )
    )
    story.append(_chart(charts.activity_trend(data["activity"], fmt="png")))

    story.append(_p("二、各单位得分及排名", "h1"))
    story.append(
        _table(
            ["排名", "单位", "账号数", "合格", "单项否决", "得分"],
            (
                [u["rank"], u["unit_name"], u["accounts"], u["passed"], u["vetoed"], u["score"]]
                for u in units
            ),
            [1, 5, 1.2, 1, 1.3, 1],
        )
    )
    if units:
        story += [Spacer(1, 8), _chart(charts.units_ranked(units, data["pass_score"], fmt="png"))]

    story.append(_p("三、单项否决及主要问题", "h1"))
    story.append(_p("（一）单项否决账号", "h2"))
    story.append(
        _table(
            ["单位", "账号", "平台", "问题"],
            (
                [
                    v["unit_name"],
                    v["name"],
                    PLATFORM_LABELS.get(v["platform"], v["platform"]),
                    "；".join(v["problems"]),
                ]
                for v in data["vetoes"]
            ),
            [4, 3, 1.6, 5],
        )
    )
    story.append(_p("（二）主要扣分问题", "h2"))
    problems, count = data["problems"], data["problem_count"]
    story.append(
        _table(
            ["单位", "账号", "问题", "数量", "扣分"],
            (
                [p["unit_name"], p["name"], p["label"], p["count"], f"{p['points']:g}"]
                for p in problems[:TABLE_ROWS_LIMIT]
            ),
            [4, 3, 4, 1.2, 1.2],
        )
    )
    if count > TABLE_ROWS_LIMIT:
        story.append(
            _p(
                f"另有 {count - TABLE_ROWS_LIMIT} 项扣分问题，详见通报附表（Excel）。",
                "note",
            )
        )

    story.append(_p("四、整改落实情况", "h1"))
    rect = data.get("rectification")
    if rect and rect["due"]:
        story.append(
            _p(
                f"本季度到期整改事项{rect['due']}项，按期完成{rect['on_time']}项，逾期完成"
                f"{rect['late']}项，截至季度末尚未完成{rect['open']}项，按期整改率"
                f"{_pct(rect['on_time_rate'])}。"
            )
        )
        story.append(
            _table(
                ["单位", "到期事项", "按期完成", "逾期完成", "尚未完成", "按期整改率"],
                (
                    [
                        u["unit_name"],
                        u["due"],
                        u["on_time"],
                        u["late"],
                        u["open"],
                        _pct(u["on_time_rate"]),
                    ]
                    for u in rect["units"]
                ),
                [4, 1.3, 1.3, 1.3, 1.3, 1.5],
            )
        )
    elif rect:
        story.append(_p("本季度无到期整改事项。"))
    else:
        story.append(_p("本季度整改落实情况尚未纳入系统统计，另行通报。"))

    story.append(_p("五、群众留言办理情况", "h1"))
    story.append(_p(_figures_note(data)))
    story.append(
        _table(
            ["单位", "收到", "按期答复", "逾期答复", "逾期未答复", "办理中", "按期率", "满意率"],
            (
                [
                    u["unit_name"],
                    u["received"],
                    u["on_time"],
                    u["late"],
                    u["overdue"],
                    u["pending"],
                    _pct(u["on_time_rate"]),
                    _pct(u["satisfaction"]),
                ]
                for u in letters["units"]
            ),
            [4, 1, 1.2, 1.2, 1.4, 1.1, 1.2, 1.2],
        )
    )
    story.append(
        KeepTogether([Spacer(1, 8), _chart(charts.letters_trend(data["letters_trend"], fmt="png"))])
    )

    story.append(_p("六、工作要求", "h1"))
    story += _paras(report.requirements)
    story += [Spacer(1, 24), _p(data["office"], "sign"), _p(signed_on(report), "sign")]
    marker = "" if report.status == "issued" else "草稿（未印发）"
    return _document(story, name, data["office"], marker)


def weekly_pdf(report: Report, data: dict[str, Any], pass_score: float) -> bytes:
    """The weekly patrol: figures, charts, units ranked and every account (failed first)."""
    from reportlab.platypus import Spacer

    start, end = report.period_start, report.period_end
    name = "政务新媒体周巡查报告"
    story: list = [_p(name, "title")]
    story.append(_p(f"（{cn_date(start)}至{cn_date(end)}）", "subtitle"))
    story.append(
        _p(
            f"本周共巡查政务新媒体账号{data['checked']}个，合格{data['passed']}个，被单项否决"
            f"{data['vetoed']}个。评分细则第 {report.rubric_version} 版，生成于"
            f"{cn_date(beijing_date(report.built_at))}。"
        )
    )
    rows = sorted(data["accounts"], key=lambda r: (r["passed"], r["score"], r["unit_name"]))
    bands = score_bands([a["score"] for a in data["accounts"] if not a["vetoes"]])
    vetoed = sum(1 for a in data["accounts"] if a["vetoes"])
    story.append(_chart(charts.score_distribution(bands, pass_score, vetoed, fmt="png")))
    story.append(_p("一、单位排名", "h1"))
    story.append(
        _table(
            ["排名", "单位", "账号数", "合格", "单项否决", "得分"],
            (
                [u["rank"], u["unit_name"], u["accounts"], u["passed"], u["vetoed"], u["score"]]
                for u in data["units"]
            ),
            [1, 5, 1.2, 1, 1.3, 1],
        )
    )
    if data["units"]:
        story += [Spacer(1, 8), _chart(charts.units_ranked(data["units"], pass_score, fmt="png"))]
    story.append(_p("二、账号巡查情况", "h1"))
    story.append(
        _table(
            ["单位", "账号", "平台", "发布", "单项否决", "扣分项", "得分"],
            (
                [
                    r["unit_name"],
                    r["name"],
                    PLATFORM_LABELS.get(r["platform"], r["platform"]),
                    r["posts"],
                    "；".join(v["label"] for v in r["vetoes"]),
                    "；".join(f"{d['label']} -{d['points']:g}" for d in r["deductions"]),
                    f"{r['score']:g}" + ("" if r["passed"] else "（不合格）"),
                ]
                for r in rows
            ),
            [3, 2.6, 1.6, 1.3, 3, 3.4, 1.8],
        )
    )
    return _document(story, f"{name}（{start}至{end}）", "民声")


def signature(office: str, day) -> list:
    """The issuing office and the date under the last paragraph, as the bulletin signs."""
    from reportlab.platypus import Spacer

    return [Spacer(1, 24), _p(office, "sign"), _p(cn_date(day), "sign")]


RECTIFY_UNIT_HEADER = [
    *("单位", "事项", "本月新增", "往月结转", "待整改"),
    *("待核验", "逾期", "按期整改", "逾期整改"),
]
RECTIFY_ITEM_HEADER = [
    *("编号", "单位", "账号", "问题", "类别", "数量", "扣分"),
    *("发现月份", "整改期限", "状态", "整改情况", "上报日期"),
]


def _rectify_status(v: dict[str, Any]) -> str:
    if not v["overdue"]:
        return v["status_label"]
    return v["status_label"] + ("（逾期整改）" if v["status"] == "done" else "（逾期）")


def rectification_pdf(
    report: Report,
    views: list[dict[str, Any]],
    counts: list[dict[str, Any]],
    today,
    office: str,
) -> bytes:
    """A month's rectification list as the reader may see it (a unit's staff: their unit's
    items), landscape for its wide tables: the figures, the units' counts, every item listed
    (carried ones included) and the evidence of each, by reference."""
    from supervision.rectification import month_label, totals

    month = report.period_start
    name = f"{month_label(month)}政务新媒体问题整改清单"
    t = totals(counts)
    story: list = [
        _p(name, "title"),
        _p(
            f"（评分细则第 {report.rubric_version} 版，整改情况统计截至{cn_date(today)}）",
            "subtitle",
        ),
        _p("各有关单位：", "to"),
        _p(
            f"根据{month_label(month)}政务新媒体检查情况，本清单共列入整改事项{t['total']}项，其中"
            f"本月新增{t['new']}项，往月结转{t['carried']}项；待整改{t['open']}项，待核验"
            f"{t['submitted']}项，逾期{t['overdue']}项，按期整改{t['done']}项，逾期整改"
            f"{t['done_late']}项。请各单位在整改期限内完成整改，并在系统中上报整改情况。"
        ),
        _p("一、各单位整改情况", "h1"),
        _table(
            RECTIFY_UNIT_HEADER,
            (
                [c["unit_name"]]
                + [c[k] for k in ("total", "new", "carried", "open", "submitted", "overdue")]
                + [c["done"], c["done_late"]]
                for c in counts
            ),
            [5, 1, 1, 1, 1, 1, 1, 1, 1],
            LANDSCAPE_WIDTH,
        ),
        _p("二、整改事项清单", "h1"),
        _table(
            RECTIFY_ITEM_HEADER,
            (
                [
                    v["id"],
                    v["unit_name"],
                    v["account_name"],
                    v["label"],
                    "单项否决" if v["kind"] == "veto" else "扣分",
                    v["count"],
                    f"{v['points']:g}",
                    v["month_label"],
                    v["due_on"].isoformat(),
                    _rectify_status(v),
                    v["note"],
                    v["answered_on"].isoformat() if v["answered_on"] else "",
                ]
                for v in views
            ),
            [1.3, 3, 2.4, 3.2, 2.1, 1.3, 1.3, 3, 3, 2.2, 3.4, 3],
            LANDSCAPE_WIDTH,
        ),
        _p("三、问题依据", "h1"),
        _table(
            ["编号", "单位", "账号", "问题", "依据", "引用", "日期"],
            (
                [
                    *(v[k] for k in ("id", "unit_name", "account_name", "label")),
                    *(e["label"], e["ref"], str(e["at"])[:16].replace("T", " ")),
                ]
                for v in views
                for e in v["evidence"]
            ),
            [1.3, 3, 2.4, 3.2, 5, 2, 3],
            LANDSCAPE_WIDTH,
        ),
        *signature(office, today),
    ]
    return _document(story, name, office, landscape=True)
