from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0020_wording_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=12)),
                ('period_start', fields.DateField()),
                ('period_end', fields.DateField()),
                ('rubric_version', fields.IntField()),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='draft', max_length=12)),
                ('opening', fields.TextField(default='', unique=False)),
                ('requirements', fields.TextField(default='', unique=False)),
                ('built_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('built_by_id', fields.IntField(null=True)),
                ('issued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_report', 'app': 'minsheng', 'unique_together': (('kind', 'period_start'),), 'pk_attr': 'id', 'table_description': 'A report as built for its period: the accounts and units with their scores and'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rubric',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.IntField(unique=True)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('note', fields.CharField(default='', max_length=500)),
                ('created_by', fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='rubrics', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_rubric', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'One version of the scoring rubric: an edit makes a new version, the newest applies to'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Post',
            name='cleared_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='serious',
            field=fields.BooleanField(default=False),
        ),
    ]
