from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0007_totp_sealed')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Ask',
            name='ref',
            field=fields.CharField(null=True, unique=True, max_length=32),
        ),
    ]
