from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0017_drafts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Source',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('home_url', fields.CharField(max_length=1000)),
                ('level', fields.CharField(max_length=12)),
                ('feed_url', fields.CharField(default='', max_length=1000)),
                ('urgent', fields.BooleanField(default=False)),
                ('active', fields.BooleanField(default=True)),
                ('etag', fields.CharField(null=True, max_length=300)),
                ('last_modified', fields.CharField(null=True, max_length=100)),
                ('checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_source', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'An authoritative source on the whitelist reposts must come from (000 §14(五)).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RepostTask',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.ForeignKeyField('minsheng.Source', source_field='source_id', db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='repost_tasks', on_delete=OnDelete.RESTRICT)),
                ('item_id', fields.CharField(max_length=500)),
                ('title', fields.CharField(max_length=500)),
                ('link', fields.CharField(default='', max_length=1000)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('urgent', fields.BooleanField(default=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='open', db_index=True, max_length=12)),
                ('draft', fields.ForeignKeyField('minsheng.Draft', source_field='draft_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.SET_NULL)),
                ('dismissed_reason', fields.TextField(default='', unique=False)),
                ('reminded', fields.CharField(default='', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_repost_task', 'app': 'minsheng', 'unique_together': (('source', 'unit', 'item_id'),), 'pk_attr': 'id', 'table_description': 'A new item of a subscribed source for a unit to repost. Urgent ones are due 12 hours'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SourceSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.ForeignKeyField('minsheng.Source', source_field='source_id', db_constraint=True, to_field='id', related_name='subscriptions', on_delete=OnDelete.CASCADE)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='source_subscriptions', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'acc_source_sub', 'app': 'minsheng', 'unique_together': (('source', 'unit'),), 'pk_attr': 'id', 'table_description': 'A unit wants repost tasks for the new items of a source.'},
            bases=['Model'],
        ),
    ]
