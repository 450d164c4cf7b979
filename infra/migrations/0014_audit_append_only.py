from tortoise import migrations
from tortoise.migrations import operations as ops

# The audit log is append-only in the database itself, not only in AuditRecord.save/delete:
# a queryset .update()/.delete() or raw SQL through the application's connection is refused too.
# The one way rows leave is the retention purge (org/audit.py purge_audit), which says so inside
# its transaction: on PostgreSQL with SET LOCAL minsheng.audit_purge = 'on', on SQLite (no
# session settings) with a row in org_audit_purge that its transaction inserts and removes.
# Statements, not models: Tortoise has no triggers, so this migration is hand-written.

POSTGRES_UP = [
    """
CREATE OR REPLACE FUNCTION org_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('minsheng.audit_purge', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'org_audit is append-only: % refused (records leave only by the retention purge)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER org_audit_append_only
    BEFORE UPDATE OR DELETE ON org_audit
    FOR EACH ROW EXECUTE FUNCTION org_audit_append_only()
""",
    """
CREATE TRIGGER org_audit_no_truncate
    BEFORE TRUNCATE ON org_audit
    FOR EACH STATEMENT EXECUTE FUNCTION org_audit_append_only()
""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS org_audit_no_truncate ON org_audit",
    "DROP TRIGGER IF EXISTS org_audit_append_only ON org_audit",
    "DROP FUNCTION IF EXISTS org_audit_append_only()",
]

SQLITE_UP = [
    "CREATE TABLE IF NOT EXISTS org_audit_purge (purging INTEGER NOT NULL)",
    """
CREATE TRIGGER IF NOT EXISTS org_audit_no_update BEFORE UPDATE ON org_audit
BEGIN
    SELECT RAISE(ABORT, 'org_audit is append-only: UPDATE refused');
END
""",
    """
CREATE TRIGGER IF NOT EXISTS org_audit_no_delete BEFORE DELETE ON org_audit
WHEN NOT EXISTS (SELECT 1 FROM org_audit_purge)
BEGIN
    SELECT RAISE(ABORT, 'org_audit is append-only: DELETE refused (records leave only by the retention purge)');
END
""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS org_audit_no_delete",
    "DROP TRIGGER IF EXISTS org_audit_no_update",
    "DROP TABLE IF EXISTS org_audit_purge",
]


def _statements(schema_editor, up: bool) -> list[str]:
    dialect = schema_editor.client.capabilities.dialect
    if dialect == "postgres":
        return POSTGRES_UP if up else POSTGRES_DOWN
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    return []  # other databases are not supported by the product


async def _run(schema_editor, statements: list[str]) -> None:
    # One statement at a time, not the editor's _run_sql: SQLite's splits on ";", which a
    # trigger's body contains.
    for sql in statements:
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(sql.strip() + ";")
        else:
            await schema_editor.client.execute_query(sql)


async def forwards(apps, schema_editor) -> None:
    await _run(schema_editor, _statements(schema_editor, up=True))


async def backwards(apps, schema_editor) -> None:
    await _run(schema_editor, _statements(schema_editor, up=False))


class Migration(migrations.Migration):
    dependencies = [('minsheng', '0013_post_author')]

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
    ]
