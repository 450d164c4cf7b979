"""Charts of the reports, drawn on the server with matplotlib: SVG to embed in pages (text kept as
text, so it is small, searchable and read by screen readers; no external requests) and PNG for
the PDF. Each function takes plain figures from a report's data, never the database.

matplotlib is imported on first use (it costs half a second) and never through pyplot: each chart
is its own Figure, drawn with the Agg canvas. The rcParams a chart needs are set inside a lock,
so charts drawn from several threads do not see each other's settings.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

log = logging.getLogger(__name__)

# Fonts tried in order; the first one installed draws the Chinese text.
CJK_FAMILIES = (
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
)
CJK_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
# What a browser showing the SVG tries, after the font the chart was laid out with.
BROWSER_FAMILIES = "'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"

BLUE, RED, GREY, GREEN, AMBER = "#1d4ed8", "#d92d20", "#98a2b3", "#079455", "#f79009"
_lock = threading.Lock()
_cache: OrderedDict[Hashable, Any] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 64


def cached(key: Hashable, make: Callable[[], Any]) -> Any:
    """A chart drawn once per key (a report's id, build time and chart name, say) in this
    process, the last ``CACHE_SIZE`` kept: a report's charts never change until it is rebuilt."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = make()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


@functools.cache
def cjk_font() -> str | None:
    """The family of an installed CJK font, registering a known file if matplotlib has not
    found it; None (with a warning) where there is none: the charts still draw, with boxes."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    for path in CJK_FILES:
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    log.warning("no CJK font found for the charts: apt install fonts-wqy-zenhei")
    return None


def _weight(family: str | None) -> Any:
    """The weight the font has: WenQuanYi Zen Hei is registered as 500, and asking it for
    "normal" logs a warning for every text drawn."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if f.name == family:
            return f.weight
    return "normal"


def _rc() -> dict[str, Any]:
    family = cjk_font()
    weight = _weight(family)
    return {
        "font.family": [family] if family else ["DejaVu Sans"],
        "font.weight": weight,
        "axes.labelweight": weight,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#667085",
        "axes.titlesize": 11,
        "axes.titleweight": weight,
        "svg.fonttype": "none",
        "svg.hashsalt": "minsheng",  # the same figures give the same SVG
        "axes.unicode_minus": False,
    }


def _draw(build: Callable[[Any], None], size: tuple[float, float], fmt: str) -> str | bytes:
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with _lock, rc_context(_rc()):
        fig = Figure(figsize=size, layout="constrained")
        build(fig)
        out = io.BytesIO()
        if fmt == "png":
            fig.savefig(out, format="png", dpi=150, metadata={"Software": None})
            return _small_png(out.getvalue())
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return _inline_svg(out.getvalue().decode("utf-8"))


def _small_png(png: bytes) -> bytes:
    """The PNG with a palette of its few colours: a quarter of the size, no visible change."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _inline_svg(svg: str) -> str:
    """The SVG as an element for a page: no XML prologue, no page-wide style rule, scaling with
    its container, with fonts a browser will have."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r'(<svg[^>]*?) width="[\d.]+pt" height="[\d.]+pt"', r"\1", svg, count=1)
    svg = svg.replace("<svg ", '<svg role="img" class="chart" ', 1)
    family = cjk_font()
    if family:
        svg = svg.replace(f"'{family}'", f"'{family}', {BROWSER_FAMILIES}")
    return svg


def _labels(ax, values, fmt: str = "{:g}", *, horizontal: bool = False) -> None:
    for patch, value in zip(ax.patches, values, strict=False):
        if horizontal:
            x, y = patch.get_width(), patch.get_y() + patch.get_height() / 2
            ax.annotate(
                fmt.format(value),
                (x, y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        elif value:
            x, y = patch.get_x() + patch.get_width() / 2, patch.get_height()
            ax.annotate(
                fmt.format(value),
                (x, y),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )


# ------------------------------------------------------------------ the charts


def _count_axis(ax, values: Sequence[float], headroom: float) -> None:
    """A y axis of counts: whole numbers from 0, room above the highest bar for its label; 0 to
    1 when every count is 0 (matplotlib would draw -0.06 … 0.06 around an empty chart)."""
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, max(max(values, default=0) * (1 + headroom), 1))


def score_distribution(
    bands: Sequence[int], pass_score: float, vetoed: int = 0, fmt: str = "svg"
) -> str | bytes:
    """Accounts per band of ten points (``bands``: 0–9 … 90–100, see bulletin.score_bands),
    bands under the pass mark in red; the vetoed accounts (failed whatever their points) in a
    bar of their own."""
    edges = list(range(0, 100, 10))
    labels = ["单项否决", *(f"{lo}–{lo + 9}" if lo < 90 else "90–100" for lo in edges)]
    values = [vetoed, *bands]
    total = sum(values)

    def build(fig):
        ax = fig.subplots()
        colors = [RED, *(RED if lo + 10 <= pass_score else BLUE for lo in edges)]
        ax.bar(range(11), values, color=colors, width=0.8)
        ax.patches[0].set_hatch("///")
        ax.patches[0].set_edgecolor("white")
        _labels(ax, values)
        ax.set_xticks(range(11), labels, fontsize=7)
        ax.set_xlabel("得分")
        ax.set_ylabel("账号数")
        ax.set_title(f"账号得分分布（共 {total} 个，红色为不合格）")
        _count_axis(ax, values, 0.15)

    return _draw(build, (6.4, 2.8), fmt)


def units_ranked(
    units: Sequence[dict[str, Any]], pass_score: float, fmt: str = "svg"
) -> str | bytes:
    """Units' scores as horizontal bars, the best at the top. Past 40 units, the first and last
    twenty, with the gap marked."""
    rows = list(units)
    if len(rows) > 40:
        rows = [*rows[:20], None, *rows[-20:]]
    names = [f"{u['rank']}. {_short(u['unit_name'])}" if u else "……" for u in rows]
    values = [u["score"] if u else 0 for u in rows]

    def build(fig):
        ax = fig.subplots()
        y = range(len(rows))
        colors = [GREY if u is None else RED if u["score"] < pass_score else BLUE for u in rows]
        ax.barh(y, values, color=colors, height=0.7)
        _labels(
            ax, [v if u else "" for u, v in zip(rows, values, strict=True)], "{}", horizontal=True
        )
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 108)
        ax.axvline(pass_score, color=RED, linewidth=0.8, linestyle="--")
        ax.set_xlabel("得分")
        ax.set_title("各单位得分排名")

    return _draw(build, (6.4, 0.9 + 0.26 * max(len(rows), 3)), fmt)


def activity_trend(weeks: Sequence[dict[str, Any]], fmt: str = "svg") -> str | bytes:
    """Posts per week across the accounts, with the accounts that posted."""
    labels = [_week_label(w["week"]) for w in weeks]
    posts = [w["posts"] for w in weeks]
    active = [w.get("active", 0) for w in weeks]

    def build(fig):
        ax = fig.subplots()
        x = range(len(weeks))
        ax.plot(x, posts, color=BLUE, marker="o", markersize=3, label="发布条数")
        ax.plot(x, active, color=GREEN, marker="s", markersize=3, label="有更新的账号")
        for i, v in enumerate(posts):
            ax.annotate(
                str(v), (i, v), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=7
            )
        ax.set_xticks(x, labels, fontsize=7)
        _count_axis(ax, [*posts, *active], 0.2)
        ax.set_title(f"近 {len(weeks)} 周发布情况（按周）")
        fig.legend(loc="outside lower center", fontsize=7, frameon=False, ncols=2)

    return _draw(build, (6.4, 2.6), fmt)


def letters_trend(quarters: Sequence[dict[str, Any]], fmt: str = "svg") -> str | bytes:
    """Letters of each quarter answered on time, late, and overdue unanswered, stacked, with the
    on-time rate above each bar."""
    labels = [q["label"].replace("年", "年\n") for q in quarters]
    on_time = [q["on_time"] for q in quarters]
    late = [q["late"] for q in quarters]
    overdue = [q["overdue"] for q in quarters]

    def build(fig):
        ax = fig.subplots()
        x = range(len(quarters))
        ax.bar(x, on_time, color=GREEN, width=0.55, label="按期答复")
        ax.bar(x, late, bottom=on_time, color=AMBER, width=0.55, label="逾期答复")
        tops = [a + b for a, b in zip(on_time, late, strict=True)]
        ax.bar(x, overdue, bottom=tops, color=RED, width=0.55, label="逾期未答复")
        for i, q in enumerate(quarters):
            rate = "—" if q["rate"] is None else f"{q['rate']:g}%"
            ax.annotate(
                f"按期率 {rate}",
                (i, tops[i] + overdue[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        ax.set_xticks(x, labels, fontsize=8)
        _count_axis(ax, [t + o for t, o in zip(tops, overdue, strict=True)], 0.25)
        ax.set_ylabel("留言件数")
        ax.set_title("近四个季度留言按期答复情况")
        fig.legend(loc="outside lower center", fontsize=7, frameon=False, ncols=3)

    return _draw(build, (6.4, 2.8), fmt)


def _short(name: str, width: int = 14) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _week_label(monday: str) -> str:
    _, month, day = monday.split("-")
    return f"{int(month)}/{int(day)}"
