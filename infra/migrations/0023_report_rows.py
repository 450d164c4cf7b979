from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0022_annual_submissions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReportRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('minsheng.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='rows', on_delete=OnDelete.CASCADE)),
                ('unit_id', fields.IntField()),
                ('account_id', fields.IntField()),
                ('passed', fields.BooleanField()),
                ('score', fields.FloatField()),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'sup_report_row', 'app': 'minsheng', 'unique_together': (('report', 'account_id'),), 'indexes': [Index(fields=['report_id', 'unit_id'])], 'pk_attr': 'id', 'table_description': 'One account of a report with its score and evidence. The report keeps the totals and'},
            bases=['Model'],
        ),
    ]
