"""The knowledge-base JSON API: status codes, Chinese errors, nothing changed on bad input, and
an audit record for every attempt to change something."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from knowledge.models import Ask, Entry, SynonymGroup, Topic
from org.models import AuditRecord
from tests.knowledge.conftest import OTHER_PASSWORD
from tests.org.conftest import login_as

BASE = "/api/knowledge"
ENTRY = {
    "question": "社保卡丢了怎么补办",
    "similar": "社保卡丢失怎么办\n社保卡补办",
    "answer": "到合作银行网点挂失补办。",
}


@pytest.fixture
def login(app, sender, kb_units):
    async def _login(username: str):
        from org.demo import DEMO_PASSWORD

        extra = {"editor2", "editrev", "gjjeditor", "gjjreviewer", "qyleader"}
        return await login_as(
            app, sender, username, OTHER_PASSWORD if username in extra else DEMO_PASSWORD
        )

    return _login


async def error(r) -> dict:
    return (await r.get_json())["error"]


async def test_an_entry_goes_from_draft_to_published_over_http(login):
    editor = await login("editor")
    r = await editor.post(f"{BASE}/entries", json=ENTRY)
    assert r.status_code == 201, await r.get_json()
    entry = await r.get_json()
    assert entry["status"] == "draft" and entry["similar"] == ["社保卡丢失怎么办", "社保卡补办"]
    url = f"{BASE}/entries/{entry['id']}"
    r = await editor.patch(url, json={"answer": "到合作银行网点或社保窗口挂失补办。", "version": 1})
    assert r.status_code == 200 and (await r.get_json())["version"] == 2
    r = await editor.post(f"{url}/submit")
    assert r.status_code == 200 and (await r.get_json())["status"] == "review"

    r = await editor.post(f"{url}/review", json={"approve": True})
    assert r.status_code == 403 and "审核" in (await error(r))["message"]
    reviewer = await login("reviewer")
    r = await reviewer.post(f"{url}/review", json={"approve": "yes"})
    assert r.status_code == 400 and "approve" in (await error(r))["message"]
    r = await reviewer.post(f"{url}/review", json={"approve": True})
    assert r.status_code == 200
    body = await r.get_json()
    assert body["status"] == "published" and body["live"]["version"] == 2
    assert body["pending_edit"] is False

    r = await editor.get(f"{url}/versions")
    assert [v["action"] for v in await r.get_json()] == ["create", "edit", "submit", "publish"]
    r = await reviewer.post(f"{url}/retire", json={})
    assert r.status_code == 400 and (await error(r))["message"] == "请填写停用理由"
    r = await reviewer.post(f"{url}/retire", json={"reason": "政策调整"})
    assert r.status_code == 200 and (await r.get_json())["live"] is None
    r = await reviewer.post(f"{url}/restore")
    assert r.status_code == 200 and (await r.get_json())["status"] == "draft"


async def test_self_review_is_refused_changes_nothing_and_is_audited(login):
    both = await login("editrev")
    r = await both.post(f"{BASE}/entries", json=ENTRY)
    entry_id = (await r.get_json())["id"]
    await both.post(f"{BASE}/entries/{entry_id}/submit")
    r = await both.post(f"{BASE}/entries/{entry_id}/review", json={"approve": True})
    assert r.status_code == 403
    err = await error(r)
    assert err["code"] == "self_review" and "不能审核自己" in err["message"]
    entry = await Entry.get(id=entry_id)
    assert entry.status == "review" and entry.live is None
    rec = await AuditRecord.filter(outcome="denied").order_by("-id").first()
    assert rec.action == "http.knowledge_api.review_entry" and "self_review" in rec.summary


async def test_bad_input_changes_nothing(login):
    editor = await login("editor")
    r = await editor.post(f"{BASE}/entries", json={**ENTRY, "question": ""})
    assert r.status_code == 400
    err = await error(r)
    assert err["message"] == "请填写标准问题" and err["details"]["field"] == "question"
    r = await editor.client.post(
        f"{BASE}/entries",
        data="不是JSON",
        headers={"X-CSRF-Token": editor.csrf, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and (await error(r))["code"] == "bad_json"
    r = await editor.post(f"{BASE}/entries", json={**ENTRY, "review_by": "2027-13-40"})
    assert r.status_code == 400 and "复核日期" in (await error(r))["message"]
    assert await Entry.all().count() == 0
    r = await editor.patch(f"{BASE}/entries/12345", json={"answer": "x"})
    assert r.status_code == 404 and (await error(r))["message"] == "知识条目不存在"
    rejected = await AuditRecord.filter(outcome="rejected", action__startswith="http.knowledge")
    assert len(rejected) == 4


async def test_supervisors_read_and_strangers_are_turned_away(app, login):
    editor = await login("editor")
    entry_id = (await (await editor.post(f"{BASE}/entries", json=ENTRY)).get_json())["id"]
    supervisor = await login("supervisor")
    r = await supervisor.get(f"{BASE}/entries", query_string={"q": "社保卡"})
    body = await r.get_json()
    assert r.status_code == 200 and body["total"] == 1 and body["items"][0]["id"] == entry_id
    r = await supervisor.patch(f"{BASE}/entries/{entry_id}", json={"answer": "督查修改"})
    assert r.status_code == 403
    r = await supervisor.post(f"{BASE}/entries", json=ENTRY)
    assert r.status_code == 403
    r = await app.test_client().get(f"{BASE}/entries")
    assert r.status_code == 401
    assert (await Entry.get(id=entry_id)).answer == ENTRY["answer"]


async def test_topics_and_synonyms_over_http(login):
    editor = await login("editor")
    r = await editor.post(f"{BASE}/topics", json={"name": "社会保障"})
    assert r.status_code == 201
    topic = await r.get_json()
    r = await editor.post(f"{BASE}/topics", json={"name": "社会保障"})
    assert r.status_code == 409 and "已存在" in (await error(r))["message"]
    r = await editor.patch(f"{BASE}/topics/{topic['id']}", json={"name": "社保"})
    assert r.status_code == 200 and (await r.get_json())["name"] == "社保"
    r = await editor.get(f"{BASE}/topics")
    assert [t["name"] for t in await r.get_json()] == ["社保"]
    r = await editor.delete(f"{BASE}/topics/{topic['id']}")
    assert r.status_code == 200 and await Topic.all().count() == 0

    r = await editor.post(f"{BASE}/synonyms", json={"words": ["社保", "社会保险"]})
    assert r.status_code == 201
    group = await r.get_json()
    r = await editor.post(f"{BASE}/synonyms", json={"words": "社保 社保费"})
    assert r.status_code == 409 and "只能属于一个同义词组" in (await error(r))["message"]
    r = await editor.post(f"{BASE}/synonyms", json={"words": ["医保"]})
    assert r.status_code == 400 and "两个不同的词" in (await error(r))["message"]
    r = await editor.client.put(
        f"{BASE}/synonyms/{group['id']}",
        json={"words": ["社保", "社会保险", "社险"]},
        headers={"X-CSRF-Token": editor.csrf},
    )
    assert r.status_code == 200 and (await r.get_json())["words"] == ["社保", "社会保险", "社险"]
    r = await editor.get(f"{BASE}/synonyms")
    assert len(await r.get_json()) == 1
    r = await editor.delete(f"{BASE}/synonyms/{group['id']}")
    assert r.status_code == 200 and await SynonymGroup.all().count() == 0


async def test_import_and_export_over_http(login):
    rows = [
        {"id": "h1", "question": "居住证怎么办", "answer": "到派出所。", "department": "公安局"},
        {"id": "h2", "question": "", "answer": "缺问题"},
    ]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    editor = await login("editor")
    r = await editor.client.post(
        f"{BASE}/import?publish=1", data=data, headers={"X-CSRF-Token": editor.csrf}
    )
    assert r.status_code == 403 and await Entry.all().count() == 0
    r = await editor.client.post(
        f"{BASE}/import",
        files={"file": FileStorage(io.BytesIO(data), filename="问答.jsonl")},
        headers={"X-CSRF-Token": editor.csrf},
    )
    assert r.status_code == 200, await r.get_json()
    report = await r.get_json()
    assert (report["created"], report["skipped"]) == (1, 1)
    assert report["lines"] == [
        {
            "line": 2,
            "outcome": "skipped",
            "entry_id": None,
            "external_id": "h2",
            "message": "缺少标准问题",
        }
    ]
    reviewer = await login("reviewer")
    r = await reviewer.client.post(
        f"{BASE}/import?publish=1", data=data, headers={"X-CSRF-Token": reviewer.csrf}
    )
    assert r.status_code == 200 and (await r.get_json())["updated"] == 1
    assert (await Entry.get(external_id="h1")).status == "published"

    r = await editor.get(f"{BASE}/export?fmt=xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(await r.get_data())).worksheets[0]
    assert [c.value for c in sheet[2]][:5] == ["h1", "居住证怎么办", None, "到派出所。", "公安局"]
    r = await editor.get(f"{BASE}/export?fmt=jsonl&status=published")
    [line] = (await r.get_data()).decode().splitlines()
    assert json.loads(line)["topic"] == "公安局"
    r = await editor.get(f"{BASE}/export?fmt=pdf")
    assert r.status_code == 400 and "JSONL 或 XLSX" in (await error(r))["message"]
    r = await editor.client.post(
        f"{BASE}/import",
        files={"upload": FileStorage(io.BytesIO(data), filename="x.jsonl")},
        headers={"X-CSRF-Token": editor.csrf},
    )
    assert r.status_code == 400 and (await error(r))["code"] == "missing_file"


async def test_rankings_and_resolving_unanswered_questions_over_http(login, clock):
    from knowledge.attention import record_ask

    editor = await login("editor")
    entry_id = (await (await editor.post(f"{BASE}/entries", json=ENTRY)).get_json())["id"]
    await Entry.filter(id=entry_id).update(status="published", live={**ENTRY, "version": 1})
    for _ in range(2):
        await record_ask(
            text="社保卡丢了",
            channel="web",
            account_id=None,
            decision="answer",
            entry_id=entry_id,
            score=0.9,
            suggestions=[],
            clock=clock,
        )
    r = await editor.get(f"{BASE}/rankings?since=2026-11-01&until=2026-11-30")
    topics = (await r.get_json())["topics"]
    assert topics[0]["asks"] == 2 and topics[0]["entries"][0]["entry_id"] == entry_id
    r = await editor.get(f"{BASE}/rankings?since=2026-11-01&until=yesterday")
    assert r.status_code == 400

    asks = []
    for text in ("社保卡丢了怎么挂失", "公积金能取吗"):
        a = await record_ask(
            text=text,
            channel="web",
            account_id=None,
            decision="none",
            entry_id=None,
            score=0.0,
            suggestions=[],
            clock=clock,
        )
        asks.append(a.id)
    r = await editor.get(f"{BASE}/unanswered")  # the last 30 days
    rows = await r.get_json()
    assert r.status_code == 200
    assert {row["text"] for row in rows} == {"社保卡丢了怎么挂失", "公积金能取吗"}
    [sbk] = [row for row in rows if row["text"] == "社保卡丢了怎么挂失"]
    assert sbk["ask_ids"] == [asks[0]] and sbk["best_entry_id"] == entry_id
    add = {"ask_ids": [asks[0]], "entry_id": entry_id}
    r = await editor.post(f"{BASE}/unanswered/add", json=add)
    assert r.status_code == 200 and "社保卡丢了怎么挂失" in (await r.get_json())["similar"]
    r = await editor.get(f"{BASE}/unanswered")
    assert [row["text"] for row in await r.get_json()] == ["公积金能取吗"]
    r = await editor.post(f"{BASE}/unanswered/add", json=add)
    assert r.status_code == 409
    r = await editor.post(f"{BASE}/unanswered/dismiss", json={"ask_ids": "abc"})
    assert r.status_code == 400
    r = await editor.post(
        f"{BASE}/unanswered/new-entry", json={"ask_ids": [asks[1]], "answer": "可以按规定提取。"}
    )
    assert r.status_code == 201 and (await r.get_json())["question"] == "公积金能取吗"
    assert set(await Ask.filter(id__in=asks).values_list("resolved", flat=True)) == {"added"}


async def test_try_needs_a_question(login):
    editor = await login("editor")
    r = await editor.post(f"{BASE}/try", json={"text": "  "})
    assert r.status_code == 400 and (await error(r))["message"] == "请输入要试问的问题"
    r = await editor.post(f"{BASE}/try", json={"text": "要带什么材料", "after": "长" * 501})
    assert r.status_code == 400 and (await error(r))["message"] == "上一句不能超过500个字"
    r = await editor.post(f"{BASE}/try", json={"text": "要带什么材料"})
    body = await r.get_json()
    assert r.status_code == 200 and body["asks_matter"] and body["read_as"] is None
