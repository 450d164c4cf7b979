from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0002_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SynonymGroup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('words', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_by', fields.ForeignKeyField('minsheng.Staff', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_synonyms', on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'kb_synonym_group', 'app': 'minsheng', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=40)),
                ('sort', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'kb_topic', 'app': 'minsheng', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Entry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('question', fields.CharField(max_length=300)),
                ('similar', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('answer', fields.TextField(default='', unique=False)),
                ('topic', fields.ForeignKeyField('minsheng.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.SET_NULL)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='kb_entries', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=12)),
                ('live', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('review_by', fields.DateField(null=True, db_index=True)),
                ('version', fields.IntField(default=1)),
                ('source', fields.CharField(default='manual', max_length=16)),
                ('hits', fields.IntField(default=0)),
                ('helpful', fields.IntField(default=0)),
                ('unhelpful', fields.IntField(default=0)),
                ('created_by', fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_created', on_delete=OnDelete.SET_NULL)),
                ('updated_by', fields.ForeignKeyField('minsheng.Staff', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_updated', on_delete=OnDelete.SET_NULL)),
                ('submitted_by', fields.ForeignKeyField('minsheng.Staff', source_field='submitted_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_submitted', on_delete=OnDelete.SET_NULL)),
                ('reviewed_by', fields.ForeignKeyField('minsheng.Staff', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_reviewed', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'kb_entry', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': "An entry's working copy, plus the snapshot that the bot answers with."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Ask',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('asked_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('text', fields.CharField(max_length=500)),
                ('normalized', fields.CharField(max_length=500)),
                ('channel', fields.CharField(default='web', max_length=16)),
                ('account_id', fields.IntField(null=True)),
                ('decision', fields.CharField(max_length=8)),
                ('entry', fields.ForeignKeyField('minsheng.Entry', source_field='entry_id', null=True, db_constraint=True, to_field='id', related_name='asks', on_delete=OnDelete.SET_NULL)),
                ('score', fields.FloatField(default=0.0)),
                ('suggestions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('feedback', fields.CharField(null=True, max_length=12)),
                ('resolved', fields.CharField(null=True, max_length=12)),
                ('resolved_entry_id', fields.IntField(null=True)),
            ],
            options={'table': 'kb_ask', 'app': 'minsheng', 'indexes': [Index(fields=['decision', 'asked_at'])], 'pk_attr': 'id', 'table_description': 'One question a citizen asked the bot and what it decided. Never holds contact details:'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EntryVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('minsheng.Entry', source_field='entry_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('action', fields.CharField(max_length=16)),
                ('status', fields.CharField(max_length=12)),
                ('question', fields.CharField(max_length=300)),
                ('similar', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('answer', fields.TextField(default='', unique=False)),
                ('topic_id', fields.IntField(null=True)),
                ('note', fields.CharField(default='', max_length=300)),
                ('staff', fields.ForeignKeyField('minsheng.Staff', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='kb_versions', on_delete=OnDelete.SET_NULL)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'kb_entry_version', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'Every change of an entry, append-only: who, when, what the entry became.'},
            bases=['Model'],
        ),
    ]
