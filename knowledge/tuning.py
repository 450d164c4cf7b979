"""Each office's matcher learns from its own curation: gather what staff and citizens said about
the answers, fit a candidate model on it (knowledge/office_fit.py), and let staff adopt it, or go
back to the model before, with the figures in front of them.

The nightly job and the console only ever make candidates; adopting is a person's decision (or the
operator's, `minsheng knowledge fit --adopt-if-better`). An adopted model is announced like an
entry (knowledge/live.py) and every process swaps it in within seconds.

Signals come from the knowledge base itself (similar questions, questions staff added to an entry,
citizens' 已解决 / 未解决) and from sources other packages register on the deps: the letters
package adds letters whose reply became an entry (knowledge never imports letters).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, Unauthenticated, as_id
from knowledge.live import announce_model, published_corpus, running_model
from knowledge.models import MODEL_STATUSES, Ask, MatcherModel
from knowledge.office_fit import SIGNAL_KINDS, Signal, fit_office
from knowledge.privacy import MASK, mask_personal
from knowledge.text import normalize
from org.access import ROLES, Actor
from org.audit import record_audit

# Fewer citizen wordings than this say nothing reliable about the office: no fit.
MIN_POSITIVE = 20
# The most recent asks of each kind taken (a busy office logs millions of answered questions).
MAX_ASKS = 20_000
MAX_TEXT = 300
TUNER_ROLES = ("reviewer", "leader")
FIT_LOCK = "kb:fit:lock"
FIT_LOCK_SECONDS = 3600
LIST_LIMIT = 20
# Candidates never adopted are kept this many (a model is a few hundred kB, one a night); those
# ever adopted stay, for going back.
KEEP_CANDIDATES = 30
# Where deps keep the signal sources of other packages (see add_signal_source).
SIGNAL_SOURCES = "kb_signal_sources"
# Of two signals with the same wording and entry, the one that says most about where it came from
# is kept: a question staff added to an entry is also one of its similar questions.
_KIND_ORDER = ("added", "letter", "helpful", "unhelpful", "similar")

SignalSource = Callable[[Deps], Awaitable[list[Signal]]]


def add_signal_source(deps: Deps, source: SignalSource) -> None:
    """Register signals from outside the knowledge base (composed in quart_app)."""
    sources = deps.extensions.setdefault(SIGNAL_SOURCES, [])
    if source not in sources:
        sources.append(source)


# ---------------------------------------------------------------- who may


def _top_unit(actor: Actor) -> bool:
    return actor.unit_path.count("/") == 2  # "/1/": a unit without a parent


def may_tune(actor: Actor) -> bool:
    """The model decides what every unit's entries answer: only the top unit's reviewers and
    leaders choose it. Administrators do not (004 §10(四): administration is kept apart from
    editing and review), nor reviewers of one unit."""
    if "system" in actor.roles:
        return True
    return actor.staff_id is not None and actor.has(*TUNER_ROLES) and _top_unit(actor)


def check_may_tune(actor: Actor) -> None:
    if actor.staff_id is None and "system" not in actor.roles:
        raise Unauthenticated()
    if not may_tune(actor):
        roles = "或".join(ROLES[r] for r in TUNER_ROLES)
        raise Forbidden(f"只有最上级单位的{roles}可以评估、采用或恢复匹配模型")


# ---------------------------------------------------------------- signals


def _masked(text: str) -> str:
    return mask_personal(text or "").strip()[:MAX_TEXT]


async def _ask_signals(kind: str, entry_field: str, positive: bool, **where: Any) -> list[Signal]:
    rows = (
        await Ask.filter(**where, **{f"{entry_field}__isnull": False})
        .order_by("-id")
        .limit(MAX_ASKS)
        .values_list("text", entry_field)
    )
    return [Signal(_masked(text), str(entry), positive, kind) for text, entry in rows]


async def _signals(entries: Sequence[tuple[str, Sequence[str], str]], deps: Deps | None):
    found: list[Signal] = []
    found += await _ask_signals("added", "resolved_entry_id", True, resolved="added")
    for source in deps.extensions.get(SIGNAL_SOURCES, ()) if deps else ():
        found += [Signal(_masked(s.text), s.entry, s.positive, s.kind) for s in await source(deps)]
    found += await _ask_signals("helpful", "entry_id", True, feedback="helpful")
    found += await _ask_signals("unhelpful", "entry_id", False, feedback="unhelpful")
    for entry_id, questions, _ in entries:
        found += [Signal(q.strip(), entry_id, True, "similar") for q in questions[1:] if q.strip()]
    live = {entry_id for entry_id, _, _ in entries}
    order = {kind: i for i, kind in enumerate(_KIND_ORDER)}
    found.sort(key=lambda s: order.get(s.kind, len(order)))  # stable: newest asks first
    kept: dict[tuple[str, str, bool], Signal] = {}
    for s in found:
        key = (normalize(s.text.replace(MASK, "")), s.entry, s.positive)
        if s.entry in live and key[0] and key not in kept:
            kept[key] = s
    return list(kept.values())


async def gather_signals(deps: Deps | None = None) -> list[Signal]:
    """The office's curation as signals for fitting, about live entries only: similar questions,
    asks staff added to an entry, answers citizens marked 已解决 / 未解决, and what the
    registered sources add (letters). Texts are masked (000 §34); one signal per wording, entry
    and verdict."""
    entries, _ = await published_corpus()
    return await _signals(entries, deps)


# ---------------------------------------------------------------- fitting


def _plain(value: Any) -> Any:
    """JSON the database takes: the fit may hand back numpy numbers, and NaN (no answers, no
    precision) is not JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _too_few(positive: int) -> DomainError:
    return DomainError(
        "too_few_signals",
        f"可用于学习的群众问法不足 {MIN_POSITIVE} 条（收集到 {positive} 条）：请先为条目补充"
        "相似问法，或在「未解决问题」中把群众提问加为相似问法，再评估匹配模型",
        positive=positive,
    )


async def _release(deps: Deps, token: str) -> None:
    if await deps.redis.get(FIT_LOCK) == token:
        await deps.redis.delete(FIT_LOCK)


async def fit_office_model(deps: Deps, actor: Actor | None = None) -> MatcherModel:
    """Fit a candidate on the office's signals and store it with its figures on held-back
    questions beside the running model's. Never adopts: a candidate better than the running
    model waits for staff (`adopt_model`); one that is not is stored as rejected."""
    actor = actor or Actor.system("定时任务")
    check_may_tune(actor)
    entries, groups = await published_corpus()
    signals = await _signals(entries, deps)
    positive = sum(1 for s in signals if s.positive)
    if positive < MIN_POSITIVE:
        raise _too_few(positive)
    token = uuid.uuid4().hex
    if not await deps.redis.set(FIT_LOCK, token, nx=True, ex=FIT_LOCK_SECONDS):
        raise Conflict("fit_running", "已有一次匹配模型评估正在进行，请稍后刷新页面查看结果")
    try:
        base_id, current = await running_model()
        # Minutes of numpy for a large office: not on the event loop.
        fit = await asyncio.to_thread(fit_office, entries, signals, current, synonyms=groups)
    except ValueError as err:
        # Wordings that are an entry's only question teach nothing (nothing is left to find
        # the entry by once they are left out): fewer usable ones than counted above.
        if not str(err).startswith("too few signals"):
            raise
        raise _too_few(positive) from None
    finally:
        await _release(deps, token)
    figures = _plain(fit.summary())
    # Who asked, when no staff member did: the nightly job or the command line.
    notes = [actor.name if actor.staff_id is None else ""]
    notes.append("" if fit.better else "在留出问法上不优于当时运行的模型")
    async with in_transaction():
        row = await MatcherModel.create(
            params=_plain(fit.candidate.to_dict()),
            figures=figures,
            status="candidate" if fit.better else "rejected",
            base_id=base_id,
            created_at=deps.clock.now(),
            created_by_id=actor.staff_id,
            note="；".join(filter(None, notes)),
        )
        before, after = figures.get("before") or {}, figures.get("after") or {}
        await record_audit(
            actor,
            "kb.matcher.fit",
            clock=deps.clock,
            object_type="kb_matcher_model",
            object_id=row.id,
            summary=f"评估匹配模型：候选模型 #{row.id}（{_name(base_id)}为对照），"
            f"留出问法 {figures.get('held_out', 0)} 条，效用 {_num(before.get('utility'))} → "
            f"{_num(after.get('utility'))}，{'优于' if fit.better else '不优于'}当前模型",
            after={"status": row.status, "base_id": base_id, **figures},
        )
        keep = MatcherModel.filter(adopted_at__isnull=True).order_by("-id").limit(KEEP_CANDIDATES)
        kept = await keep.values_list("id", flat=True)
        await MatcherModel.filter(adopted_at__isnull=True, id__lt=min(kept)).delete()
    return row


async def fit_matcher_job(deps: Deps) -> str:
    """The nightly job: a candidate for staff to look at, never adopted here. Too few signals,
    or a fit already running, is an answer, not a failure to retry every tick."""
    try:
        row = await fit_office_model(deps)
    except DomainError as err:
        if err.code in ("too_few_signals", "fit_running"):
            return err.message
        raise
    return f"candidate #{row.id} {row.status}"


# ---------------------------------------------------------------- adopting and reverting


def _name(model_id: int | None) -> str:
    return f"模型 #{model_id}" if model_id else "通用模型"


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "—"


def _changed() -> Conflict:
    return Conflict("model_changed", "匹配模型刚被他人更换，请刷新页面后重试")


async def _running_id() -> int | None:
    return await MatcherModel.filter(in_use=True).first().values_list("id", flat=True)


def _check_usable(row: MatcherModel) -> None:
    from knowledge.matcher import Model

    try:
        Model.from_dict(row.params)
    except (TypeError, ValueError):
        raise DomainError(
            "model_unusable", f"模型 #{row.id} 与当前版本的匹配程序不兼容，请重新评估"
        ) from None


async def adopt_model(actor: Actor, model_id: Any, deps: Deps) -> MatcherModel:
    """The bot answers with this model from now on, in every process; the one before is retired
    and `revert_model` brings it back."""
    check_may_tune(actor)
    row = await MatcherModel.get_or_none(id=as_id(model_id, "匹配模型"))
    if row is None:
        raise NotFound("匹配模型")
    if row.status == "adopted":
        raise Conflict("already_adopted", f"模型 #{row.id} 已在使用中")
    if row.status == "rejected":
        raise DomainError(
            "not_better", f"模型 #{row.id} 在留出问法上不优于当时运行的模型，不能采用"
        )
    _check_usable(row)
    now = deps.clock.now()
    try:
        async with in_transaction():
            running = await _running_id()
            if row.base_id != running:
                raise Conflict(
                    "stale_candidate",
                    f"模型 #{row.id} 是与{_name(row.base_id)}比较得出的，而现在运行的是"
                    f"{_name(running)}：请重新评估后再采用",
                )
            await MatcherModel.filter(in_use=True).update(in_use=None, status="retired")
            moved = await MatcherModel.filter(
                id=row.id, in_use__isnull=True, status__in=("candidate", "retired")
            ).update(
                in_use=True,
                status="adopted",
                adopted_at=now,
                adopted_by_id=actor.staff_id,
                previous_id=running,
            )
            if not moved:
                raise _changed()
            await record_audit(
                actor,
                "kb.matcher.adopt",
                clock=deps.clock,
                object_type="kb_matcher_model",
                object_id=row.id,
                summary=f"采用匹配模型 #{row.id}，替换{_name(running)}",
                before={"model_id": running},
                after={"model_id": row.id},
            )
    except IntegrityError:  # two adopted at once: the unique in_use refused the second
        raise _changed() from None
    await announce_model(deps.redis)
    await row.refresh_from_db()
    return row


async def revert_model(actor: Actor, deps: Deps) -> MatcherModel | None:
    """Back to the model that ran before the adopted one (the shipped model when there was
    none); returns it (None: the shipped model). Reverting again goes further back."""
    check_may_tune(actor)
    current = await MatcherModel.get_or_none(in_use=True)
    if current is None:
        raise DomainError("nothing_to_revert", "现在运行的已是通用模型，没有可恢复的上一个模型")
    previous = None
    if current.previous_id is not None:
        previous = await MatcherModel.get_or_none(id=current.previous_id)
    if previous is not None:
        _check_usable(previous)
    try:
        async with in_transaction():
            moved = await MatcherModel.filter(id=current.id, in_use=True).update(
                in_use=None, status="retired"
            )
            if not moved:
                raise _changed()
            if previous is not None:
                # Its own previous_id stays: reverting once more goes back one further.
                await MatcherModel.filter(id=previous.id).update(
                    in_use=True,
                    status="adopted",
                    adopted_at=deps.clock.now(),
                    adopted_by_id=actor.staff_id,
                )
            back_to = previous.id if previous else None
            await record_audit(
                actor,
                "kb.matcher.revert",
                clock=deps.clock,
                object_type="kb_matcher_model",
                object_id=current.id,
                summary=f"停用匹配模型 #{current.id}，恢复为{_name(back_to)}",
                before={"model_id": current.id},
                after={"model_id": back_to},
            )
    except IntegrityError:
        raise _changed() from None
    await announce_model(deps.redis)
    if previous is not None:
        await previous.refresh_from_db()
    return previous


# ---------------------------------------------------------------- the console's view

# The figures shown, in this order: (key, label, shown as a percentage).
FIGURES = (
    ("utility", "综合效用", False),
    ("answers", "直接回答数", False),
    ("wrong_answer_rate", "错误回答率", True),
    ("answer_precision", "回答准确率", True),
    ("answer_recall", "回答召回率", True),
    ("suggest_hit", "建议命中率", True),
)


def signal_counts(figures: dict[str, Any]) -> list[tuple[str, int]]:
    """(label, count) of the signals a fit used, in the order of SIGNAL_KINDS (PostgreSQL keeps
    JSON keys in an order of its own)."""
    counts = dict(figures.get("counts") or {})
    order = [k for k in SIGNAL_KINDS if k in counts] + sorted(set(counts) - set(SIGNAL_KINDS))
    return [(SIGNAL_KINDS.get(k, k), counts[k]) for k in order]


def model_view(row: MatcherModel, running: int | None) -> dict[str, Any]:
    figures = row.figures or {}
    before, after = figures.get("before") or {}, figures.get("after") or {}
    return {
        "id": row.id,
        "status": row.status,
        "status_label": MODEL_STATUSES.get(row.status, row.status),
        "created_at": row.created_at,
        "created_by": row.created_by.real_name if row.created_by else "系统",  # type: ignore[attr-defined]
        "adopted_at": row.adopted_at,
        "adopted_by": row.adopted_by.real_name if row.adopted_by else None,  # type: ignore[attr-defined]
        "note": row.note,
        "base": _name(row.base_id),
        "better": bool(figures.get("better")),
        "held_out": figures.get("held_out", 0),
        "refit_pairs": bool(figures.get("refit_pairs")),
        "seconds": figures.get("seconds"),
        "figures": [
            (label, before.get(key), after.get(key), pct)
            for key, label, pct in FIGURES
            if key in before or key in after
        ],
        "counts": signal_counts(figures),
        "adoptable": row.status in ("candidate", "retired") and row.base_id == running,
    }


async def matcher_models(actor: Actor) -> dict[str, Any]:
    """The running model and the latest candidates, for the console page."""
    if actor.staff_id is None and "system" not in actor.roles:
        raise Unauthenticated()
    running = await MatcherModel.get_or_none(in_use=True).select_related("created_by", "adopted_by")
    rows = (
        await MatcherModel.all()
        .order_by("-id")
        .limit(LIST_LIMIT)
        .select_related("created_by", "adopted_by")
    )
    running_id = running.id if running else None
    return {
        "running": model_view(running, running_id) if running else None,
        "models": [model_view(r, running_id) for r in rows],
        "may_tune": may_tune(actor),
        "min_positive": MIN_POSITIVE,
    }
