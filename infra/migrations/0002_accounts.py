from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='accounts', on_delete=OnDelete.RESTRICT)),
                ('platform', fields.CharField(db_index=True, max_length=16)),
                ('name', fields.CharField(max_length=100)),
                ('handle', fields.CharField(default='', max_length=100)),
                ('certified_subject', fields.CharField(default='', max_length=100)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('opened_on', fields.DateField(null=True)),
                ('responsible', fields.ForeignKeyField('minsheng.Staff', source_field='responsible_id', null=True, db_constraint=True, to_field='id', related_name='accounts', on_delete=OnDelete.SET_NULL)),
                ('live_slot', fields.CharField(null=True, unique=True, max_length=48)),
                ('credentials', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_account', 'app': 'minsheng', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivitySnapshot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='snapshots', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(db_index=True)),
                ('days_since_last', fields.IntField(null=True)),
                ('posts_7d', fields.IntField(default=0)),
                ('state', fields.CharField(max_length=8)),
            ],
            options={'table': 'acc_activity', 'app': 'minsheng', 'unique_together': (('account', 'day'),), 'pk_attr': 'id', 'table_description': "One account's activity on one day, recorded by the daily monitor job."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AdRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('pattern', fields.CharField(max_length=200)),
                ('note', fields.CharField(default='', max_length=200)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_ad_rule', 'app': 'minsheng', 'unique_together': (('kind', 'pattern'),), 'pk_attr': 'id', 'table_description': 'An entry of the ad lists that admins maintain: a word, a lure pattern, or a domain.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Filing',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='filings', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='filings', on_delete=OnDelete.RESTRICT)),
                ('requested_by', fields.ForeignKeyField('minsheng.Staff', source_field='requested_by_id', db_constraint=True, to_field='id', related_name='filings', on_delete=OnDelete.RESTRICT)),
                ('reason', fields.TextField(unique=False)),
                ('changes', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='pending', db_index=True, max_length=12)),
                ('chain', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('step', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_filing', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'A request to open, change, close or cancel an account, approved level by level.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FilingEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('filing', fields.ForeignKeyField('minsheng.Filing', source_field='filing_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_id', fields.IntField(null=True)),
                ('actor_name', fields.CharField(max_length=64)),
                ('action', fields.CharField(max_length=16)),
                ('comment', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'acc_filing_event', 'app': 'minsheng', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Post',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=300)),
                ('summary', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(default='', max_length=1000)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('is_repost', fields.BooleanField(default=False)),
                ('source_name', fields.CharField(default='', max_length=100)),
                ('source_url', fields.CharField(default='', max_length=1000)),
                ('review_status', fields.CharField(default='ok', db_index=True, max_length=12)),
                ('findings', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('external_id', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'acc_post', 'app': 'minsheng', 'unique_together': (('account', 'external_id'),), 'indexes': [Index(fields=['account_id', 'published_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
