"""Which tenants a run audits: --tenant / --group, then the shard (--shard K/N or an Indexed Job).

A tenant's shard is a stable hash of its tenant id, so every machine of a job engine agrees on
it without talking to the others: `int(sha256(tenant_id.lower()).hexdigest(), 16) % N == K - 1`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.errors import ConfigError
from auditor.tenants.file import Tenant

INDEX_ENV = "JOB_COMPLETION_INDEX"  # set by Kubernetes in every pod of an Indexed Job
COUNT_ENV = "AUDITOR_SHARD_COUNT"  # the Job's completions: Kubernetes does not expose it


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `number` (1-based) of `count`."""

    number: int
    count: int

    def holds(self, tenant_id: str) -> bool:
        """True when the tenant's stable hash falls in this shard."""
        return shard_of(tenant_id, self.count) == self.number

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def shard_of(tenant_id: str, count: int) -> int:
    """The 1-based shard of `count` that audits `tenant_id` (the same on every machine)."""
    return int(hashlib.sha256(tenant_id.lower().encode()).hexdigest(), 16) % count + 1


def parse_shard(value: str) -> Shard:
    """`--shard K/N` with 1 <= K <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise ConfigError(f"--shard {value}: expected K/N, e.g. 2/5 (the second of five shards)")
    number, count = int(match.group(1)), int(match.group(2))
    if not 1 <= number <= count:
        raise ConfigError(f"--shard {value}: K must be between 1 and N ({count})")
    return Shard(number, count)


def choose_shard(
    flag: str | None, count_flag: int | None, environ: Mapping[str, str]
) -> Shard | None:
    """The shard of this run: --shard, else a Kubernetes Indexed Job's index, else none.

    Inside an Indexed Job (JOB_COMPLETION_INDEX set, 0-based) the shard is index + 1 of
    --shard-count, else AUDITOR_SHARD_COUNT; an index without a count is an error, because
    auditing every tenant in every pod would audit each tenant N times.
    """
    if flag is not None:
        return parse_shard(flag)
    index = environ.get(INDEX_ENV, "").strip()
    if not index:
        if count_flag is not None:
            raise ConfigError(f"--shard-count: only read inside an Indexed Job ({INDEX_ENV})")
        return None
    count_text = str(count_flag) if count_flag is not None else environ.get(COUNT_ENV, "").strip()
    where = "--shard-count" if count_flag is not None else COUNT_ENV
    if not count_text:
        raise ConfigError(
            f"{INDEX_ENV}={index} is set (a Kubernetes Indexed Job) but the number of shards is "
            f"not: set {COUNT_ENV} to the Job's completions (or pass --shard-count N, or --shard)"
        )
    if not index.isdigit() or not count_text.isdigit():
        raise ConfigError(
            f"{INDEX_ENV}={index}, {where}={count_text}: expected whole numbers (index from 0)"
        )
    number, count = int(index) + 1, int(count_text)
    if not 1 <= number <= count:
        raise ConfigError(
            f"{INDEX_ENV}={index} is outside {where}={count} (indexes run from 0 to {count - 1})"
        )
    return Shard(number, count)


def select_tenants(
    tenants: Sequence[Tenant],
    names: Sequence[str] = (),
    groups: Sequence[str] = (),
    shard: Shard | None = None,
) -> list[Tenant]:
    """The tenants named (--tenant) or in a group (--group), all when neither, in `shard`.

    Raises:
        ConfigError: A name or group the file does not know (the known ones are listed).
    """
    known_names = [t.name for t in tenants]
    known_groups = sorted({g for t in tenants for g in t.groups})
    problems = []
    unknown = [n for n in names if n not in known_names]
    if unknown:
        problems.append(f"--tenant: unknown {', '.join(unknown)} (known: {', '.join(known_names)})")
    missing = [g for g in groups if g not in known_groups]
    if missing:
        listed = ", ".join(known_groups) or "none: no tenant has groups"
        problems.append(f"--group: unknown {', '.join(missing)} (known: {listed})")
    if problems:
        raise ConfigError("; ".join(problems))
    chosen = [
        t
        for t in tenants
        if (not names and not groups) or t.name in names or set(t.groups) & set(groups)
    ]
    return [t for t in chosen if shard is None or shard.holds(t.tenant_id)]
