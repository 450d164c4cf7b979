from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0009_matcher_models')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('kind', fields.CharField(max_length=16)),
                ('name', fields.CharField(default='', max_length=32)),
                ('note', fields.CharField(default='', max_length=255)),
                ('source', fields.CharField(default='admin', max_length=16)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cal_day', 'app': 'minsheng', 'pk_attr': 'id', 'table_description': 'One day off the ordinary week on the official calendar: a public holiday (a weekday or'},
            bases=['Model'],
        ),
    ]
