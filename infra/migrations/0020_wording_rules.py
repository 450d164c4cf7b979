from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0019_publications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WordingRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=12)),
                ('pattern', fields.CharField(max_length=500)),
                ('regex', fields.BooleanField(default=False)),
                ('correction', fields.CharField(default='', max_length=200)),
                ('note', fields.CharField(default='', max_length=300)),
                ('title', fields.CharField(default='', max_length=200)),
                ('rank', fields.IntField(default=0)),
                ('builtin', fields.BooleanField(default=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_by', fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='wording_rules_created', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_by', fields.ForeignKeyField('minsheng.Staff', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='wording_rules_updated', on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pub_wording_rule', 'app': 'minsheng', 'unique_together': (('kind', 'pattern'),), 'pk_attr': 'id', 'table_description': 'An entry of the 错敏词 lists that admins maintain, seeded once with the built-in starter'},
            bases=['Model'],
        ),
    ]
