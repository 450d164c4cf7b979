from tortoise import migrations
from tortoise.migrations import operations as ops
from infra.indexes import WhereIndex

class Migration(migrations.Migration):
    dependencies = [('minsheng', '0024_rectification')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Letter',
            name=None,
            fields=['supervised_at', 'status', 'due_on', 'id'],
        ),
        ops.AddIndex(
            model_name='Letter',
            index=WhereIndex(fields=['due_on', 'id'], name='let_letter_supervision_list', where="supervised_at IS NOT NULL AND status IN ('new', 'instructing', 'handling', 'reviewing')"),
        ),
    ]
