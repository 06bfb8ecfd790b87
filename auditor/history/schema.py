"""The history database's layout: tables, migrations, stored status codes, and its header mark."""

from __future__ import annotations

APPLICATION_ID = 0x41554454  # "AUDT" in the SQLite header marks the file as ours
# Stored as the `status` integer: frozen, whatever order models.Status may take.
STATUS_CODES = ("pass", "fail", "unknown", "not_applicable", "waived")
FAIL = STATUS_CODES.index("fail")
ENTITY_COLUMNS = ("entity_type", "entity_id", "serial_number", "name")

_V1 = (
    """CREATE TABLE runs (period TEXT PRIMARY KEY, as_of TEXT NOT NULL, generated_at TEXT NOT NULL,
    tool_version TEXT NOT NULL, catalogue_as_of TEXT NOT NULL, catalogue_source TEXT NOT NULL,
    config_digest TEXT NOT NULL, waivers_digest TEXT NOT NULL, tenant_id TEXT NOT NULL,
    source TEXT NOT NULL, devices INTEGER NOT NULL, failing_devices INTEGER NOT NULL,
    inputs TEXT NOT NULL)""",
    """CREATE TABLE rules (period TEXT NOT NULL, rule_no INTEGER NOT NULL, rule_id TEXT NOT NULL,
    severity TEXT NOT NULL, pass INTEGER NOT NULL, fail INTEGER NOT NULL, unknown INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL, waived INTEGER NOT NULL, PRIMARY KEY (period, rule_no))
    WITHOUT ROWID""",
    """CREATE TABLE entities (period TEXT NOT NULL, entity_no INTEGER NOT NULL,
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, serial_number TEXT, name TEXT,
    PRIMARY KEY (period, entity_no)) WITHOUT ROWID""",
    """CREATE TABLE results (period TEXT NOT NULL, rule_no INTEGER NOT NULL,
    entity_no INTEGER NOT NULL, status INTEGER NOT NULL, first_seen TEXT, waiver_id TEXT,
    PRIMARY KEY (period, rule_no, entity_no)) WITHOUT ROWID""",
    "CREATE TABLE statuses (code INTEGER PRIMARY KEY, status TEXT NOT NULL UNIQUE)",
    "INSERT INTO statuses VALUES " + ", ".join(f"({i}, '{s}')" for i, s in enumerate(STATUS_CODES)),
    """CREATE VIEW findings AS SELECT r.period, u.rule_id, u.severity, e.entity_type, e.entity_id,
    e.serial_number, e.name, s.status, r.first_seen, r.waiver_id FROM results r
    JOIN rules u USING (period, rule_no) JOIN entities e USING (period, entity_no)
    JOIN statuses s ON s.code = r.status""",
)
# v2: Macs with a failing critical or high result per period (posture), filled in for old runs.
# A migration is frozen: it states posture's definition as it was written (status 1 = fail);
# a test asserts it agrees with auditor.posture.
_V2 = (
    "ALTER TABLE runs ADD COLUMN critical_high_devices INTEGER NOT NULL DEFAULT 0",
    """UPDATE runs SET critical_high_devices = (SELECT count(DISTINCT r.entity_no)
    FROM results r JOIN rules u USING (period, rule_no) JOIN entities e USING (period, entity_no)
    WHERE r.period = runs.period AND r.status = 1 AND e.entity_type = 'device'
    AND u.severity IN ('critical', 'high'))""",
)

_V3_RUN_COLUMNS = (
    "period", "as_of", "generated_at", "tool_version", "catalogue_as_of", "catalogue_source",
    "config_digest", "waivers_digest", "source", "devices", "failing_devices",
    "critical_high_devices", "inputs",
)  # fmt: skip


def _keyed_by_tenant(table: str, columns: str, key: str) -> tuple[str, ...]:
    """v3 statements that rebuild `table` keyed by tenant, taking each row's from its run.

    `tenant_id` becomes the first column and leads the primary key; the `findings` view and
    the renamed `runs_v2` are handled around these statements.
    """
    return (
        f"CREATE TABLE {table}_v3 (tenant_id TEXT NOT NULL, {columns}, "
        f"PRIMARY KEY (tenant_id, {key})) WITHOUT ROWID",
        f"INSERT INTO {table}_v3 SELECT r.tenant_id, t.* FROM {table} t "
        "JOIN runs_v2 r USING (period)",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v3 RENAME TO {table}",
    )


# v3: one history line per tenant. Every table is keyed by (tenant_id, period, …), so two
# tenants' runs of one month no longer replace each other; existing runs keep their tenant.
_V3 = (
    "DROP VIEW findings",
    "ALTER TABLE runs RENAME TO runs_v2",
    """CREATE TABLE runs (tenant_id TEXT NOT NULL, period TEXT NOT NULL, as_of TEXT NOT NULL,
    generated_at TEXT NOT NULL, tool_version TEXT NOT NULL, catalogue_as_of TEXT NOT NULL,
    catalogue_source TEXT NOT NULL, config_digest TEXT NOT NULL, waivers_digest TEXT NOT NULL,
    source TEXT NOT NULL, devices INTEGER NOT NULL, failing_devices INTEGER NOT NULL,
    critical_high_devices INTEGER NOT NULL, inputs TEXT NOT NULL,
    PRIMARY KEY (tenant_id, period))""",
    f"INSERT INTO runs (tenant_id, {', '.join(_V3_RUN_COLUMNS)}) "
    f"SELECT tenant_id, {', '.join(_V3_RUN_COLUMNS)} FROM runs_v2",
    *_keyed_by_tenant(
        "rules",
        "period TEXT NOT NULL, rule_no INTEGER NOT NULL, rule_id TEXT NOT NULL, "
        "severity TEXT NOT NULL, pass INTEGER NOT NULL, fail INTEGER NOT NULL, "
        "unknown INTEGER NOT NULL, not_applicable INTEGER NOT NULL, waived INTEGER NOT NULL",
        "period, rule_no",
    ),
    *_keyed_by_tenant(
        "entities",
        "period TEXT NOT NULL, entity_no INTEGER NOT NULL, entity_type TEXT NOT NULL, "
        "entity_id TEXT NOT NULL, serial_number TEXT, name TEXT",
        "period, entity_no",
    ),
    *_keyed_by_tenant(
        "results",
        "period TEXT NOT NULL, rule_no INTEGER NOT NULL, entity_no INTEGER NOT NULL, "
        "status INTEGER NOT NULL, first_seen TEXT, waiver_id TEXT",
        "period, rule_no, entity_no",
    ),
    "DROP TABLE runs_v2",
    """CREATE VIEW findings AS SELECT r.tenant_id, r.period, u.rule_id, u.severity,
    e.entity_type, e.entity_id, e.serial_number, e.name, s.status, r.first_seen, r.waiver_id
    FROM results r JOIN rules u USING (tenant_id, period, rule_no)
    JOIN entities e USING (tenant_id, period, entity_no) JOIN statuses s ON s.code = r.status""",
)
# v4: why each change happened. A run keeps the bar it was judged against (its catalogue, by
# digest in `catalogues`, and every rule's parameters), each failure the cause its streak began
# with (`history.causes`; NULL: recorded before v4, or the first period), and each resolution
# its kind. Runs recorded before v4 have no bar: changes against them say "undetermined".
_V4 = (
    "ALTER TABLE runs ADD COLUMN catalogue_digest TEXT",
    "ALTER TABLE runs ADD COLUMN params TEXT",
    """CREATE TABLE catalogues (digest TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID""",
    "ALTER TABLE results ADD COLUMN cause TEXT",
    """CREATE TABLE resolutions (tenant_id TEXT NOT NULL, period TEXT NOT NULL,
    rule_id TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
    resolution TEXT NOT NULL, PRIMARY KEY (tenant_id, period, rule_id, entity_type, entity_id))
    WITHOUT ROWID""",
    "DROP VIEW findings",
    """CREATE VIEW findings AS SELECT r.tenant_id, r.period, u.rule_id, u.severity,
    e.entity_type, e.entity_id, e.serial_number, e.name, s.status, r.first_seen, r.waiver_id,
    r.cause FROM results r JOIN rules u USING (tenant_id, period, rule_no)
    JOIN entities e USING (tenant_id, period, entity_no) JOIN statuses s ON s.code = r.status""",
)
# MIGRATIONS[i] takes a database from schema version i to i + 1, inside one transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)
RUN_COLUMNS = ("tenant_id", *_V3_RUN_COLUMNS, "catalogue_digest", "params")
