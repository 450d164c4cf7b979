"""The interaction knowledge base (000 §27): entries, their versions, topics, synonyms, and the
log of what citizens asked and what the bot decided."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

STATUSES = {
    "draft": "草稿",
    "review": "待审核",
    "published": "已发布",
    "retired": "已停用",
}
DECISIONS = ("answer", "suggest", "none")


class Topic(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)
    sort = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "kb_topic"


class Entry(Model):
    """An entry's working copy, plus the snapshot that the bot answers with.

    Editing a published entry makes the working copy a draft again, but `live` keeps answering
    citizens until the edit has been reviewed and published: the bot never shows unreviewed text.
    """

    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=64, null=True, unique=True)  # id in an import file
    # The new-entry form's one-time key: sending the same form twice makes one entry.
    form_key = fields.CharField(max_length=64, null=True, unique=True)
    question = fields.CharField(max_length=1000)
    similar = fields.JSONField(default=list)  # 相似问法
    answer = fields.TextField(default="")
    topic = fields.ForeignKeyField(
        "minsheng.Topic", related_name="entries", null=True, on_delete=fields.SET_NULL
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="kb_entries", on_delete=fields.RESTRICT
    )
    status = fields.CharField(max_length=12, default="draft", db_index=True)
    # {"question", "similar", "answer", "version"} as last published, or null when not live.
    live = fields.JSONField(null=True)
    review_by = fields.DateField(null=True, db_index=True)
    version = fields.IntField(default=1)
    source = fields.CharField(max_length=16, default="manual")  # manual | import | letter
    hits = fields.IntField(default=0)
    helpful = fields.IntField(default=0)
    unhelpful = fields.IntField(default=0)
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_created", null=True, on_delete=fields.SET_NULL
    )
    updated_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_updated", null=True, on_delete=fields.SET_NULL
    )
    submitted_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_submitted", null=True, on_delete=fields.SET_NULL
    )
    reviewed_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_reviewed", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "kb_entry"


class EntryVersion(Model):
    """Every change of an entry, append-only: who, when, what the entry became."""

    id = fields.IntField(primary_key=True)
    entry = fields.ForeignKeyField(
        "minsheng.Entry", related_name="versions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    action = fields.CharField(max_length=16)  # create | edit | submit | publish | reject | retire
    status = fields.CharField(max_length=12)
    question = fields.CharField(max_length=1000)
    similar = fields.JSONField(default=list)
    answer = fields.TextField(default="")
    topic_id = fields.IntField(null=True)
    note = fields.CharField(max_length=300, default="")
    staff = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_versions", null=True, on_delete=fields.SET_NULL
    )
    at = fields.DatetimeField()

    class Meta:
        table = "kb_entry_version"


class SynonymGroup(Model):
    id = fields.IntField(primary_key=True)
    words = fields.JSONField(default=list)  # ["社保", "社会保险"]
    updated_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_synonyms", null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField()

    class Meta:
        table = "kb_synonym_group"


class Ask(Model):
    """One question a citizen asked the bot and what it decided. Never holds contact details:
    the text is masked before it is stored."""

    id = fields.BigIntField(primary_key=True)
    # Given when the question is queued, before it has an id: verdicts find it by this, and a
    # replayed batch does not write it twice.
    ref = fields.CharField(max_length=32, null=True, unique=True)
    asked_at = fields.DatetimeField(db_index=True)
    text = fields.CharField(max_length=500)
    normalized = fields.CharField(max_length=500)
    channel = fields.CharField(max_length=16, default="web")
    account_id = fields.IntField(null=True)
    decision = fields.CharField(max_length=8)
    entry = fields.ForeignKeyField(
        "minsheng.Entry", related_name="asks", null=True, on_delete=fields.SET_NULL
    )
    score = fields.FloatField(default=0.0)
    suggestions = fields.JSONField(default=list)
    feedback = fields.CharField(max_length=12, null=True)  # helpful | unhelpful
    # Set when staff dealt with an unanswered question: it joined an entry or was dismissed.
    resolved = fields.CharField(max_length=12, null=True)  # added | dismissed | letter
    resolved_entry_id = fields.IntField(null=True)

    class Meta:
        table = "kb_ask"
        indexes = (("decision", "asked_at"),)


MODEL_STATUSES = {
    "candidate": "待采用",
    "adopted": "使用中",
    "rejected": "未采用",
    "retired": "已停用",
}


class MatcherModel(Model):
    """A matcher model fitted on this office's own curation (knowledge/tuning.py): its parameters,
    its figures on held-back questions beside those of the model it was compared with, and
    whether the bot answers with it. Without an adopted one the bot runs the shipped model."""

    id = fields.IntField(primary_key=True)
    params = fields.JSONField()  # knowledge.match_model.Model.to_dict()
    figures = fields.JSONField(default=dict)  # knowledge.office_fit.OfficeFit.summary()
    status = fields.CharField(max_length=12, default="candidate", db_index=True)
    # True for the adopted model and null for every other: the unique index lets only one run,
    # even when two people adopt at the same moment.
    in_use = fields.BooleanField(null=True, unique=True)
    # The adopted model it was compared with when fitted (null: the shipped one). Its figures
    # hold only while that model runs.
    base_id = fields.IntField(null=True)
    # What ran before it was adopted (null: the shipped model): where reverting goes back to.
    previous_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_models_fitted", null=True, on_delete=fields.SET_NULL
    )
    adopted_at = fields.DatetimeField(null=True)
    adopted_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="kb_models_adopted", null=True, on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=300, default="")

    class Meta:
        table = "kb_matcher_model"
