from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0014_audit_append_only')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Entry',
            name='form_key',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
