from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0012_api_token_expiry')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Post',
            name='created_by',
            field=fields.ForeignKeyField('minsheng.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='posts_recorded', on_delete=OnDelete.SET_NULL),
        ),
    ]
