from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0005_kb_long_questions')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Letter',
            name=None,
            fields=['supervised_at', 'status'],
        ),
        ops.AddIndex(
            model_name='Letter',
            index=Index(fields=['supervised_at', 'status', 'due_on', 'id']),
        ),
    ]
