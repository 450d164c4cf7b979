"""Import and export: the municipal Q&A set, idempotent re-imports, bad lines reported and
skipped, drafts unless a reviewer publishes, and the Excel round trip (formula-safe cells)."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from infra.errors import DomainError, Forbidden
from knowledge import exporting, importing, topics, workflow
from knowledge.live import CHANGES_KEY
from knowledge.models import Entry, EntryVersion, Topic
from org.models import AuditRecord

GOV_QA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-qa.jsonl"


def jsonl(*rows) -> bytes:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows
    ).encode()


async def changes(redis) -> list[str]:
    return [m.split(":", 1)[1] for m in await redis.zrange(CHANGES_KEY, 0, -1)]


@pytest.fixture(scope="module")
def gov_qa() -> bytes:
    if not GOV_QA.exists():
        pytest.fail(f"{GOV_QA} is missing: the shared data sets sit beside the repository")
    return GOV_QA.read_bytes()


async def test_the_municipal_qa_set_imports_published_and_again_changes_nothing(
    gov_qa, actors, clock, redis
):
    rows = [json.loads(line) for line in gov_qa.decode().splitlines()]
    reviewer = actors["reviewer"]
    report = await importing.import_entries(
        reviewer, gov_qa, fmt="jsonl", publish=True, clock=clock, redis=redis
    )
    assert (report.created, report.updated, report.skipped) == (2080, 0, 0)
    assert await Entry.all().count() == 2080
    assert await Entry.filter(status="published", live__isnull=False).count() == 2080
    assert await Entry.filter(reviewed_by_id=reviewer.staff_id).count() == 2080
    # "department" is the topic; the ten rows without one have none.
    departments = Counter(r["department"] for r in rows if r["department"])
    assert {t.name for t in await Topic.all()} == set(departments)
    assert await Entry.filter(topic_id__isnull=True).count() == 10
    safety = await Topic.get(name="应急局")
    assert await Entry.filter(topic_id=safety.id).count() == departments["应急局"]
    g0 = await Entry.get(external_id="g0")
    assert g0.question == rows[0]["question"] and g0.live["answer"] == rows[0]["answer"]
    # Three questions run into their answers (421 to 603 characters): kept whole.
    assert report.warnings == []
    assert max(len(e.question) for e in await Entry.all()) == max(len(r["question"]) for r in rows)
    assert await EntryVersion.all().count() == 2 * 2080  # imported, then published
    assert await changes(redis) == ["all"]  # one rebuild rather than 2,080 announcements
    [rec] = await AuditRecord.filter(action="kb.import")
    assert "新建 2080 条" in rec.summary

    again = await importing.import_entries(
        reviewer, gov_qa, fmt="jsonl", publish=True, clock=clock, redis=redis
    )
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 2080, 0)
    assert await Entry.all().count() == 2080
    assert await EntryVersion.all().count() == 2 * 2080
    assert await changes(redis) == ["all"]


async def test_bad_lines_are_reported_and_the_good_ones_imported_as_drafts(
    actors, kb_units, clock, redis
):
    data = jsonl(
        {
            "id": "a1",
            "question": "居住证怎么办",
            "answer": "到派出所办理。",
            "similar": ["居住证咋办"],
        },
        "{这不是JSON",
        {"id": "a2", "answer": "没有问题"},
        {"id": "a3", "question": "没有答案"},
        {"id": "a1", "question": "重复编号", "answer": "x"},
        {"id": "a4", "question": "外单位", "answer": "x", "unit": "不存在的单位"},
        {"id": "a5", "question": "状态", "answer": "x", "status": "作废"},
        "",
        ["不是对象"],
        {"id": "a6", "question": "社保卡", "answer": "到银行办理。", "topic": "社会保障"},
        {"question": "没有编号的问题", "answer": "也能导入。", "department": "人社局"},
    )
    report = await importing.import_entries(
        actors["editor"], data, fmt="jsonl", clock=clock, redis=redis
    )
    assert (report.created, report.skipped) == (3, 7)
    assert [(e.line, e.message) for e in report.errors] == [
        (2, "不是有效的 JSON 对象"),
        (3, "缺少标准问题"),
        (4, "缺少答案"),
        (5, "编号「a1」与第1行重复"),
        (6, "单位「不存在的单位」不存在"),
        (7, "未知状态「作废」，应为：草稿、待审核、已发布、已停用"),
        (9, "不是有效的 JSON 对象"),
    ]
    entries = await Entry.all().order_by("id")
    assert [e.status for e in entries] == ["draft"] * 3 and all(e.live is None for e in entries)
    assert {e.unit_id for e in entries} == {kb_units["QY-RSJ"].id}
    assert entries[0].similar == ["居住证咋办"] and entries[0].source == "import"
    assert {t.name for t in await Topic.all()} == {"社会保障", "人社局"}
    assert await changes(redis) == []  # drafts answer nobody
    again = await importing.import_entries(
        actors["editor"], data, fmt="jsonl", clock=clock, redis=redis
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert await Entry.all().count() == 3


async def test_only_reviewers_and_leaders_publish_an_import(actors, kb_units, clock, redis):
    data = jsonl({"id": "p1", "question": "问题", "answer": "答案"})
    for who in ("editor", "handler", "supervisor", "admin"):
        with pytest.raises(Forbidden):
            await importing.import_entries(
                actors[who], data, fmt="jsonl", publish=True, clock=clock, redis=redis
            )
    with pytest.raises(Forbidden):  # a reviewer of another unit
        await importing.import_entries(
            actors["gjjreviewer"],
            data,
            fmt="jsonl",
            unit_id=kb_units["QY-RSJ"].id,
            clock=clock,
            redis=redis,
        )
    assert await Entry.all().count() == 0
    report = await importing.import_entries(
        actors["qyleader"],
        data,
        fmt="jsonl",
        unit_id=kb_units["QY-GJJ"].id,
        publish=True,
        clock=clock,
        redis=redis,
    )
    assert report.created == 1
    entry = await Entry.get(external_id="p1")
    assert entry.status == "published" and entry.unit_id == kb_units["QY-GJJ"].id
    assert await changes(redis) == [f"e{entry.id}"]


async def test_a_changed_row_is_an_edit_that_keeps_the_published_text_until_review(
    actors, clock, redis
):
    first = jsonl({"id": "c1", "question": "公积金怎么提取", "answer": "旧答案"})
    await importing.import_entries(
        actors["reviewer"], first, fmt="jsonl", publish=True, clock=clock, redis=redis
    )
    changed = jsonl({"id": "c1", "question": "公积金怎么提取", "answer": "新答案"})
    report = await importing.import_entries(
        actors["editor"], changed, fmt="jsonl", clock=clock, redis=redis
    )
    assert report.updated == 1
    entry = await Entry.get(external_id="c1")
    assert (entry.status, entry.version, entry.answer) == ("draft", 2, "新答案")
    assert entry.live["answer"] == "旧答案" and entry.live["version"] == 1
    # The importer edited this version, so another reviewer publishes it.
    entry = await workflow.submit_entry(actors["editor"], entry.id, clock=clock, redis=redis)
    entry = await workflow.review_entry(
        actors["reviewer"], entry.id, approve=True, clock=clock, redis=redis
    )
    assert entry.live["answer"] == "新答案"


async def test_excel_round_trip_is_formula_safe_and_idempotent(kb, actors, clock, redis):
    topic = await topics.create_topic(actors["editor"], "户籍", clock=clock)
    published = await kb.published(topic_id=topic.id, review_by="2027-06-30")
    draft = await kb.create(question='=HYPERLINK("http://x")问', answer="@SUM(1)", similar="")
    body = await exporting.export_entries(actors["supervisor"], fmt="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [
        "编号",
        "标准问题",
        "相似问法",
        "答案",
        "主题",
        "所属单位",
        "状态",
        "复核日期",
        "命中次数",
    ]
    assert rows[1][:8] == (
        f"KB{published.id}",
        "怎么办理居住证",
        "居住证怎么办\n外地人如何申领居住证",
        published.answer,
        "户籍",
        "清源市人力资源和社会保障局",
        "已发布",
        "2027-06-30",
    )
    # Nothing Excel would run as a formula.
    assert rows[2][1] == '\'=HYPERLINK("http://x")问' and rows[2][3] == "'@SUM(1)"
    assert rows[2][6] == "草稿"
    report = await importing.import_entries(
        actors["reviewer"], body, fmt="xlsx", publish=True, clock=clock, redis=redis
    )
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert (await Entry.get(id=draft.id)).question == '=HYPERLINK("http://x")问'
    # An edited cell comes back as an edit of that entry.
    wb = openpyxl.load_workbook(io.BytesIO(body))
    wb.worksheets[0]["D2"] = "修改后的答案"
    buf = io.BytesIO()
    wb.save(buf)
    report = await importing.import_entries(
        actors["editor"], buf.getvalue(), fmt="xlsx", clock=clock, redis=redis
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    fresh = await Entry.get(id=published.id)
    assert fresh.answer == "修改后的答案" and fresh.live["answer"] == published.answer


async def test_jsonl_export_has_every_field(kb, actors):
    entry = await kb.published()
    [line] = (await exporting.export_entries(actors["handler"], fmt="jsonl")).decode().splitlines()
    row = json.loads(line)
    assert row["id"] == f"KB{entry.id}" and row["similar"] == entry.similar
    assert row["status"] == "published" and row["unit"] == "QY-RSJ"
    empty = await exporting.export_entries(actors["handler"], fmt="jsonl", status="retired")
    assert empty == b""
    with pytest.raises(DomainError):
        await exporting.export_entries(actors["handler"], fmt="csv")


async def test_unreadable_files_are_refused_whole(actors, kb_units, clock, redis):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "标准问题"])
    wb.active.append(["x1", "没有答案列"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(DomainError) as exc:
        await importing.import_entries(
            actors["editor"], buf.getvalue(), fmt="xlsx", clock=clock, redis=redis
        )
    assert "答案" in exc.value.message
    with pytest.raises(DomainError) as exc:
        await importing.import_entries(
            actors["editor"], b"not a zip", fmt="xlsx", clock=clock, redis=redis
        )
    assert "Excel" in exc.value.message
    with pytest.raises(DomainError):
        await importing.import_entries(actors["editor"], b"", fmt="jsonl", clock=clock, redis=redis)
    assert await Entry.all().count() == 0


async def test_an_import_never_changes_another_units_entry(actors, clock, redis):
    data = jsonl({"id": "x1", "question": "居住证怎么办", "answer": "人社局的答案"})
    await importing.import_entries(actors["editor"], data, fmt="jsonl", clock=clock, redis=redis)
    other = jsonl({"id": "x1", "question": "居住证怎么办", "answer": "公积金中心改的答案"})
    report = await importing.import_entries(
        actors["gjjeditor"], other, fmt="jsonl", clock=clock, redis=redis
    )
    assert (report.created, report.updated, report.skipped) == (0, 0, 1)
    assert (
        report.errors[0].message == "编号「x1」的条目属于「清源市人力资源和社会保障局」，无权修改"
    )
    assert (await Entry.get(external_id="x1")).answer == "人社局的答案"
