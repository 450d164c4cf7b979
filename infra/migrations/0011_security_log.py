from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0010_calendar_days')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SecurityEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('minute', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('source', fields.CharField(max_length=64)),
                ('kind', fields.CharField(max_length=96)),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'org_security_event', 'app': 'minsheng', 'unique_together': (('minute', 'source', 'kind'),), 'pk_attr': 'id', 'table_description': 'Refusals of anonymous traffic, counted per minute, source and kind (org/security_log.py).'},
            bases=['Model'],
        ),
    ]
