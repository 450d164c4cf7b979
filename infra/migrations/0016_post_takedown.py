from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0015_entry_form_key')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Post',
            name='confirm_note',
            field=fields.CharField(default='', max_length=1000),
        ),
        ops.AddField(
            model_name='Post',
            name='confirmed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='confirmed_by',
            field=fields.ForeignKeyField('minsheng.Staff', source_field='confirmed_by_id', null=True, db_constraint=True, to_field='id', related_name='posts_confirmed', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Post',
            name='removal_note',
            field=fields.CharField(default='', max_length=1000),
        ),
        ops.AddField(
            model_name='Post',
            name='removed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Post',
            name='removed_by',
            field=fields.ForeignKeyField('minsheng.Staff', source_field='removed_by_id', null=True, db_constraint=True, to_field='id', related_name='posts_removed', on_delete=OnDelete.SET_NULL),
        ),
    ]
