"""Deterministic sample tenants: the bundled sample_data/ and synthetic fleets for benchmarks.

`generate_tenant(devices, seed, as_of)` builds a tenant in memory (same arguments, same
tenant); `write_tenant(tenant, out_dir, pages_of=1000)` writes the raw files Microsoft returns
(Graph JSON pages, single-GET details, the export CSV, tenant objects) plus README.md and
expected.json (what the sample intends each rule to find).
"""

from auditor.sample.generate import MIN_DEVICES, SampleTenant, generate_tenant
from auditor.sample.write import write_tenant

__all__ = ["MIN_DEVICES", "SampleTenant", "generate_tenant", "write_tenant"]
