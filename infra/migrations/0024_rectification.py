from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0023_report_rows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RectifyItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.DateField()),
                ('unit', fields.ForeignKeyField('minsheng.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='rectify_items', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='rectify_items', on_delete=OnDelete.RESTRICT)),
                ('account_name', fields.CharField(max_length=100)),
                ('kind', fields.CharField(max_length=10)),
                ('code', fields.CharField(max_length=32)),
                ('label', fields.CharField(max_length=200)),
                ('count', fields.IntField(default=0)),
                ('points', fields.FloatField(default=0)),
                ('evidence', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rubric_version', fields.IntField()),
                ('due_on', fields.DateField()),
                ('status', fields.CharField(default='open', max_length=12)),
                ('version', fields.IntField(default=1)),
                ('note', fields.TextField(default='', unique=False)),
                ('file_id', fields.IntField(null=True)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_by_id', fields.IntField(null=True)),
                ('returns', fields.IntField(default=0)),
                ('return_reason', fields.TextField(default='', unique=False)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('verified_by_id', fields.IntField(null=True)),
                ('overdue_reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_rectify_item', 'app': 'minsheng', 'unique_together': (('month', 'account', 'code'),), 'indexes': [Index(fields=['unit_id', 'status']), Index(fields=['status', 'due_on'])], 'pk_attr': 'id', 'table_description': 'One problem of one account found in a month (月整改): the unit owning the account'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RectifyEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('minsheng.RectifyItem', source_field='item_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_id', fields.IntField(null=True)),
                ('actor_name', fields.CharField(default='', max_length=64)),
                ('action', fields.CharField(max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('file_id', fields.IntField(null=True)),
            ],
            options={'table': 'sup_rectify_event', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'The history of a rectification item: answered, returned, verified, reminded.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RectifyFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('minsheng.RectifyItem', source_field='item_id', db_constraint=True, to_field='id', related_name='files', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=120)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('data', fields.BinaryField()),
                ('uploaded_by_id', fields.IntField(null=True)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sup_rectify_file', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'A file a unit sent with its answer (an image, a PDF or an Office document, at most'},
            bases=['Model'],
        ),
    ]
