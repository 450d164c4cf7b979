from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0008_ask_ref')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MatcherModel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('params', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('figures', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='candidate', db_index=True, max_length=12)),
                ('in_use', fields.BooleanField(null=True, unique=True)),
                ('base_id', fields.IntField(null=True)),
                ('previous_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_models_fitted', on_delete=OnDelete.SET_NULL)),
                ('adopted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('adopted_by', fields.ForeignKeyField('minsheng.Staff', source_field='adopted_by_id', null=True, db_constraint=True, to_field='id', related_name='kb_models_adopted', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'kb_matcher_model', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': "A matcher model fitted on this office's own curation (knowledge/tuning.py): its parameters,"},
            bases=['Model'],
        ),
    ]
