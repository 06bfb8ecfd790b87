"""What a run is configured with: the records `load_config` builds, and the choices they take."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from auditor.models import Param, Severity

# Every --format choice (render.OUTPUT_NAMES names each file); a run without --format or
# output.formats writes the first three.
FORMATS = ("json", "xlsx", "pdf", "html", "csv", "ndjson", "ocsf", "junit", "parquet")
DEFAULT_FORMATS = FORMATS[:3]
CLOUDS = ("global", "usgov", "usgov-dod", "china")
SOURCES = ("sample", "files", "graph")


@dataclass(frozen=True, slots=True)
class CredentialEnv:
    """Which environment variables hold a Graph credential: names only, never values.

    The default names are the single-tenant ones (AUDITOR_GRAPH_TOKEN, AZURE_*). A tenant of a
    tenants file names its own (`auditor.tenants.file`), so tenants audited together in one
    process read their own secrets and nobody sets or changes `os.environ`.
    """

    token: str = "AUDITOR_GRAPH_TOKEN"  # a pre-acquired bearer token (tests, CI)
    client_secret: str = "AZURE_CLIENT_SECRET"
    certificate_path: str = "AZURE_CLIENT_CERTIFICATE_PATH"
    certificate_password: str = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
    tenant_id: str | None = "AZURE_TENANT_ID"  # None: the id comes from the configuration only
    client_id: str | None = "AZURE_CLIENT_ID"
    certificate_file: Path | None = None  # a certificate named by path (not a secret)
    use_default: bool = True  # else no DefaultAzureCredential: a missing secret is an error

    def secret_names(self) -> tuple[str, ...]:
        """The variables whose values are secrets (to redact wherever text leaves auditor)."""
        return (self.token, self.client_secret, self.certificate_password)


@dataclass(frozen=True, slots=True)
class GraphConfig:
    """Where and how to reach Microsoft Graph (secrets come from the environment only)."""

    cloud: str = "global"
    graph_url: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    max_concurrency: int = 8
    allow_partial: bool = False
    proxy: str | None = None  # credentials come from AUDITOR_GRAPH_PROXY_USER / _PASSWORD
    export_timeout_s: float = 1800.0  # the Devices export job must complete within this
    lookup_owners: bool = False  # [owners] entra_lookup: GET the primary users from Entra
    credentials: CredentialEnv = CredentialEnv()  # where the secrets are (tenants name theirs)


@dataclass(frozen=True, slots=True)
class WaiverPolicy:
    """`[waivers]`: how long a waiver may run per severity, and what a waiver may not do."""

    max_days: Mapping[Severity, int] = field(default_factory=lambda: dict(WAIVER_MAX_DAYS))
    allow_wildcards_on_critical: bool = False  # a name pattern may waive a critical rule
    require_distinct_approver: bool = False  # the approver may not be the run's operator


# A waiver's longest life, from its approval (else the as-of date) to its expiry.
WAIVER_MAX_DAYS: Mapping[Severity, int] = {
    Severity.CRITICAL: 30, Severity.HIGH: 90, Severity.MEDIUM: 365, Severity.LOW: 365,
    Severity.INFO: 365,
}  # fmt: skip
EXPORT_TIMEOUT_RANGE_S = (1.0, 86_400.0)


DEFAULT_SLA_DAYS = {"critical": 14, "high": 30, "medium": 90, "low": 180}  # issue 17 defaults
# Intune device category, the owner themself, the owner's Entra department, the scope tags
OWNER_GROUPINGS = ("category", "owner", "department", "scope_tag")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run is configured with; built by `load_config`."""

    organisation: str = "Your organisation"
    classification: str = "CONFIDENTIAL"
    as_of: dt.date | None = None
    source: str = "sample"
    inputs: tuple[Path, ...] = ()
    out_dir: Path = Path("reports")
    formats: tuple[str, ...] = DEFAULT_FORMATS
    pdf_devices_per_rule: int = 15  # ~3 s and 35 pages at 100k Macs; the workbook lists all
    json_indent: bool = False  # findings.json compact; True: indented by two spaces
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    params: Mapping[str, Mapping[str, Param]] = field(default_factory=dict)
    approved_vm_serials: tuple[str, ...] = ()
    approved_vm_name_patterns: tuple[str, ...] = ()
    personal_macs_allowed: bool = True
    waivers_file: Path | None = None
    waiver_policy: WaiverPolicy = field(default_factory=WaiverPolicy)
    prepared_by: str = ""  # [report]: the sign-off block's names, and the run's operator
    reviewed_by: str = ""
    history_path: Path | None = None
    history_enabled: bool = True
    catalogue_path: Path | None = None
    graph: GraphConfig = field(default_factory=GraphConfig)
    # The [notify] table as written; auditor.notify.settings checks and reads it.
    notify: Mapping[str, Any] = field(default_factory=dict)
    # [owners]: days to fix a failure of each severity after it is first seen (no entry: no
    # due date), and how the Action plan groups owners (`OWNER_GROUPINGS`)
    sla_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    owner_group_by: str = "category"
    config_file: Path | None = None
    digest: str = ""

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with command-line values laid over the file's (None means 'not given')."""
        given = {k: v for k, v in overrides.items() if v is not None}
        graph_keys = {f.name for f in fields(GraphConfig)}
        graph = replace(self.graph, **{k: v for k, v in given.items() if k in graph_keys})
        rest = {k: v for k, v in given.items() if k not in graph_keys}
        return replace(self, graph=graph, **rest)

    def group_params(self) -> dict[str, dict[str, Param]]:
        """The policy-level settings, as parameters of the rules in each group (rules.GROUPS)."""
        return {
            "vms": {
                "approved_serials": self.approved_vm_serials,
                "approved_name_patterns": self.approved_vm_name_patterns,
            },
            "policy": {"personal_allowed": self.personal_macs_allowed},
        }
