from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0018_sources')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Publication',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draft', fields.ForeignKeyField('minsheng.Draft', source_field='draft_id', db_constraint=True, to_field='id', related_name='publications', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('minsheng.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='publications', on_delete=OnDelete.RESTRICT)),
                ('unit_id', fields.IntField(db_index=True)),
                ('status', fields.CharField(default='due', max_length=12)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('scheduled_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('claimed_by', fields.CharField(default='', max_length=80)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('url', fields.CharField(default='', max_length=1000)),
                ('platform_id', fields.CharField(default='', max_length=200)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('copy_text', fields.TextField(default='', unique=False)),
                ('post_id', fields.BigIntField(null=True)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pub_publication', 'app': 'minsheng', 'unique_together': (('draft', 'account'),), 'indexes': [Index(fields=['status', 'due_at']), Index(fields=['account_id', 'scheduled_at'])], 'pk_attr': 'id', 'table_description': 'One scheduled draft on one of its accounts: claimed by one worker, published once.'},
            bases=['Model'],
        ),
    ]
