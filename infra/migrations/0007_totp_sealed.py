from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0006_letters_indexes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Staff',
            name='totp_secret',
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
