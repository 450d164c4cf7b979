from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0016_post_takedown')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Draft',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='drafts', on_delete=OnDelete.RESTRICT)),
                ('account_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('title', fields.CharField(max_length=300)),
                ('body', fields.TextField(default='', unique=False)),
                ('cover_url', fields.CharField(default='', max_length=1000)),
                ('is_repost', fields.BooleanField(default=False)),
                ('source_name', fields.CharField(default='', max_length=100)),
                ('source_url', fields.CharField(default='', max_length=1000)),
                ('lead', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=12)),
                ('version', fields.IntField(default=1)),
                ('findings', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('accepted', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('scheduled_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('return_reason', fields.TextField(default='', unique=False)),
                ('created_by', fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='drafts_created', on_delete=OnDelete.SET_NULL)),
                ('reviewed_by', fields.ForeignKeyField('minsheng.Staff', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='drafts_reviewed', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_draft', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'Something media staff write or repost, reviewed by another person before it goes out to'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DraftEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draft', fields.ForeignKeyField('minsheng.Draft', source_field='draft_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_id', fields.IntField(null=True)),
                ('actor_name', fields.CharField(default='', max_length=64)),
                ('action', fields.CharField(max_length=16)),
                ('version', fields.IntField()),
                ('note', fields.TextField(default='', unique=False)),
                ('snapshot', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'acc_draft_event', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'The timeline of a draft, each written version kept whole in ``snapshot``.'},
            bases=['Model'],
        ),
    ]
