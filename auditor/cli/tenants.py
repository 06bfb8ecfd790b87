"""`auditor run --tenants FILE`: the tenants options of `run`, and the multi-tenant run they start.

`tenants_options` adds --tenants, --tenant, --group, --shard, --shard-count, --concurrency and
--workers to `run`; with --tenants the run audits every selected tenant (docs/tenants.md), and
without it `run` is unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.cli.options import check_as_of, history_path, load_config_file, login_name, today
from auditor.config import Config
from auditor.errors import FAIL_ON_EXIT_CODE, SourceError, TenantsFailedError
from auditor.models import Severity

F = TypeVar("F", bound=Callable[..., Any])
_FLAGS = ("tenants", "tenant_names", "groups", "shard", "shard_count", "concurrency", "workers")
# run's flags that a tenants file decides per tenant, or that a multi-tenant run cannot honour
_REFUSED = {
    "inputs": "--input (a multi-tenant run pulls each tenant from Graph)",
    "waivers": "--waivers (name each tenant's waivers file in the tenants file)",
    "cloud": "--cloud (set cloud per tenant or under [defaults] in the tenants file)",
    "graph_url": "--graph-url (set graph_url per tenant in the tenants file)",
    "bundle_inputs": "--bundle-inputs (not supported with --tenants yet)",
    "notify_required": "--notify-required (not supported with --tenants: see the outcome table)",
}


def tenants_options(fn: F) -> F:
    """Add the multi-tenant flags to `run`; with --tenants, run the tenants instead of `fn`."""

    @functools.wraps(fn)
    def wrapper(**params: Any) -> Any:
        flags = {key: params.pop(key) for key in _FLAGS}
        if flags["tenants"] is None:
            given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v not in (None, ())]
            if given:
                raise click.UsageError(f"{', '.join(given)}: only with --tenants FILE")
            return fn(**params)
        return run_tenants_command(flags, params)

    options = [
        click.option(
            "--tenants",
            type=click.Path(path_type=Path),
            help="Audit the tenants of this tenants.toml (docs/tenants.md); --out must hold "
            "{tenant}.",
        ),
        click.option(
            "--tenant", "tenant_names", multiple=True, help="With --tenants: only this tenant."
        ),
        click.option(
            "--group", "groups", multiple=True, help="With --tenants: only this group's tenants."
        ),
        click.option("--shard", help="With --tenants: audit shard K of N (K/N, from 1)."),
        click.option(
            "--shard-count",
            type=click.IntRange(min=1),
            help="In a Kubernetes Indexed Job: the number of shards (else AUDITOR_SHARD_COUNT).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 64),
            help="Graph pulls in flight across tenants (default: the file's, else 4).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=0),
            help="Audit worker processes (default: the file's, else 0 = the machine's cores).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def run_tenants_command(flags: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """Audit the selected tenants, print the outcome table, exit 0, 3, 4 or 9."""
    from auditor.notify import notify_problems
    from auditor.pipeline import RunOptions
    from auditor.rules.settings import rule_problems
    from auditor.tenants.file import read_tenants
    from auditor.tenants.outcome import counts_line, outcome_table
    from auditor.tenants.runner import TenantJob, run_tenants
    from auditor.tenants.select import choose_shard, select_tenants

    _refuse(params)
    out = str(params["out"] or "")
    if "{tenant}" not in out:
        raise click.UsageError(
            "--tenants needs --out holding {tenant}, e.g. 'reports/{tenant}/{period}'"
        )
    shard = choose_shard(flags["shard"], flags["shard_count"], os.environ)
    tenants_file = read_tenants(
        flags["tenants"],
        load_config_file,
        params["config_path"],
        check=lambda c: rule_problems(c) + notify_problems(c),
    )
    chosen = select_tenants(tenants_file.tenants, flags["tenant_names"], flags["groups"], shard)
    if not chosen:
        click.echo(f"no tenant to audit in shard {shard} of {tenants_file.path}", err=True)
        return
    base = chosen[0].config
    as_of = params["as_of"].date() if params["as_of"] else (base.as_of or today())
    check_as_of(as_of, "--as-of" if params["as_of"] else "as_of in the configuration")
    options = RunOptions(
        as_of=as_of,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        history_path=history_path(params["history"], params["no_history"], base),
        signing_key=params["sign_key"],
        operator=base.prepared_by or login_name(),
        allow_empty=params["allow_empty"],
        record_paths=params["record_paths"],
        split_by=params["split_by"],
    )
    _check_flags(params, options)
    _preflight(options)
    jobs = [TenantJob(t, _tenant_config(t.config, t.name, out, as_of, params)) for t in chosen]
    outcomes = run_tenants(
        jobs,
        options,
        concurrency=flags["concurrency"] or tenants_file.concurrency,
        workers=flags["workers"] if flags["workers"] is not None else tenants_file.workers,
        exit_code=functools.partial(_exit_code, params),
        clock=functools.partial(dt.datetime.now, dt.UTC),
        worker_setup=_worker_logging(),
        progress=sys.stderr.isatty(),
    )
    for outcome in outcomes:
        for path in outcome.audited.outputs if outcome.audited else ():
            click.echo(str(path))
    if not params["no_notify"]:
        _notify(jobs, outcomes, as_of, tenants_file.base)
    click.echo(outcome_table(outcomes), err=True)
    click.echo(counts_line(outcomes, len(jobs)), err=True)
    failed = [o.name for o in outcomes if o.outcome == "failed"]
    if failed:
        names = ", ".join(failed)
        raise TenantsFailedError(f"{len(failed)} of {len(jobs)} tenant(s) failed: {names}")
    highest = max(o.exit_code for o in outcomes)
    if highest:
        sys.exit(highest)


def _refuse(params: Mapping[str, Any]) -> None:
    given = [why for key, why in _REFUSED.items() if params.get(key)]
    if params.get("source") not in (None, "graph"):
        given.append(f"--source {params['source']} (a multi-tenant run pulls from Graph)")
    if given:
        raise click.UsageError("with --tenants: " + "; ".join(given))


def _check_flags(params: Mapping[str, Any], options: Any) -> None:
    if params["only_new"] and not params["fail_on"]:
        raise click.UsageError("--only-new qualifies --fail-on SEVERITY; give both")
    if params["only_new"] and options.history_path is None:
        raise click.UsageError("--only-new needs history to know what is new; drop --no-history")


def _preflight(options: Any) -> None:
    """A wrong signing key or an unusable history stops the run before any tenant is pulled."""
    from auditor.evidence import load_private_key
    from auditor.history import open_history

    if options.signing_key is not None:
        load_private_key(options.signing_key)
    if options.history_path is not None:
        with open_history(options.history_path):
            pass


def _tenant_config(
    config: Config, name: str, out: str, as_of: dt.date, params: Mapping[str, Any]
) -> Config:
    """The tenant's Config with the run's flags: its folder, formats, Graph as the source."""
    from auditor.cli.options import parse_formats

    folder = out.replace("{tenant}", name).replace("{period}", f"{as_of:%Y-%m}")
    return config.with_overrides(
        source="graph",
        out_dir=Path(folder),
        formats=parse_formats(params["formats"]) if params["formats"] else None,
        allow_partial=params["allow_partial"],
        json_indent=params["json_indent"],
    )


def _exit_code(params: Mapping[str, Any], audited: Any) -> int:
    """A finished tenant's exit code, as a single `run` with the same flags would end."""
    if params["require_complete"] and not audited.is_complete:
        return SourceError.exit_code
    if params["fail_on"]:
        threshold = Severity(params["fail_on"])
        counts = audited.new_failures if params["only_new"] else audited.failures
        if sum(n for sev, n in counts.items() if Severity(sev).rank <= threshold.rank):
            return FAIL_ON_EXIT_CODE
    return 0


def _worker_logging() -> Callable[[], None]:
    """The CLI's logging setup (-v, --log-format) for the audit worker processes."""
    root = click.get_current_context().find_root().params
    return functools.partial(_configure, root.get("verbose", 0), root.get("log_format", "plain"))


def _configure(verbosity: int, log_format: str) -> None:
    from auditor.cli import _configure_logging

    _configure_logging(verbosity, log_format)


def _notify(jobs: Any, outcomes: Any, as_of: dt.date, base: Config) -> None:
    """Each tenant's notification: its own names and numbers, the base file's channels.

    Sent as the MSP, never as the customer: e-mail through Graph (sendMail) uses the base
    configuration's Graph settings and credentials, not the tenant's.
    """
    from auditor.notify import after_failure, after_run
    from auditor.notify.settings import notify_settings

    configs = {job.tenant.name: dataclasses.replace(job.config, graph=base.graph) for job in jobs}
    for outcome in outcomes:
        config = configs[outcome.name]
        if not notify_settings(config).channels:
            continue
        findings = outcome.folder / "findings.json"
        try:
            if outcome.audited is not None and findings.is_file():
                after_run(config, outcome.folder, outcome.audited.outputs, findings)
            elif outcome.exception is not None:
                after_failure(config, outcome.exception, as_of.isoformat())
        except Exception as exc:  # the CLI boundary: a notification bug must not cost the audit
            logging.getLogger("auditor.notify").error(
                "[%s] notification failed unexpectedly: %r", outcome.name, exc
            )
