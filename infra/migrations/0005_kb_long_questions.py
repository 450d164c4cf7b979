from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0004_letters')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Entry',
            name='question',
            field=fields.CharField(max_length=1000),
        ),
        ops.AlterField(
            model_name='EntryVersion',
            name='question',
            field=fields.CharField(max_length=1000),
        ),
    ]
