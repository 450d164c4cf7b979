from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0021_supervision')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AnnualReminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField()),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='annual_reminders', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('reports', fields.IntField()),
                ('recipients', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_annual_reminder', 'app': 'minsheng', 'unique_together': (('unit', 'day'),), 'pk_attr': 'id', 'table_description': 'One reminder to a unit on one day about its annual reports not yet published: the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AnnualReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField(db_index=True)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='annual_reports', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='annual_reports', on_delete=OnDelete.RESTRICT)),
                ('account_name', fields.CharField(max_length=100)),
                ('platform', fields.CharField(max_length=16)),
                ('figures', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('figures_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('followers', fields.BigIntField(null=True)),
                ('reads', fields.BigIntField(null=True)),
                ('mechanisms', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(default='draft', db_index=True, max_length=12)),
                ('version', fields.IntField(default=1)),
                ('history', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('return_reason', fields.TextField(default='', unique=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_by', fields.ForeignKeyField('minsheng.Staff', source_field='published_by_id', null=True, db_constraint=True, to_field='id', related_name='annual_published', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_annual_report', 'app': 'minsheng', 'unique_together': (('year', 'account'),), 'pk_attr': 'id', 'table_description': 'The annual report of one account for one year (004 §13(五)): the figures counted from'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Submission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='submissions', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('link', fields.CharField(default='', max_length=1000)),
                ('body', fields.TextField(default='', unique=False)),
                ('submitted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('submitted_by', fields.ForeignKeyField('minsheng.Staff', source_field='submitted_by_id', null=True, db_constraint=True, to_field='id', related_name='submissions', on_delete=OnDelete.SET_NULL)),
                ('submitted_by_name', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'sup_submission', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'An information item a unit submitted to the office (信息报送, 002 §21)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Adoption',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('submission', fields.ForeignKeyField('minsheng.Submission', source_field='submission_id', db_constraint=True, to_field='id', related_name='adoptions', on_delete=OnDelete.CASCADE)),
                ('level', fields.CharField(max_length=12)),
                ('adopted_on', fields.DateField(db_index=True)),
                ('note', fields.CharField(default='', max_length=500)),
                ('points', fields.FloatField()),
                ('recorded_by', fields.ForeignKeyField('minsheng.Staff', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='adoptions', on_delete=OnDelete.SET_NULL)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_adoption', 'app': 'minsheng', 'unique_together': (('submission', 'level'),), 'pk_attr': 'id', 'table_description': 'Where a submitted item was adopted, with the points its level was worth when it was'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubmissionPoints',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('city', fields.FloatField(default=1.0)),
                ('provincial', fields.FloatField(default=3.0)),
                ('central', fields.FloatField(default=5.0)),
                ('version', fields.IntField(default=1)),
                ('updated_by', fields.ForeignKeyField('minsheng.Staff', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='submission_points', on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_submission_points', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'Points an adoption is worth at each level: one row, kept by admins'},
            bases=['Model'],
        ),
    ]
