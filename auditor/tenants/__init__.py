"""Many tenants in one run: the tenants file, which tenants (and shard) to audit, the runner.

    tenants.toml ─ file.read_tenants ─> TenantsFile (a Config per tenant)
                 ─ select.select_tenants ─> the tenants of this run (names, groups, shard)
                 ─ runner.run_tenants ─> Graph pulls in threads, audits in processes (pools)
                 ─ outcome ─> TenantOutcome per tenant, failure.json, the table on stderr

Layer: below `auditor.cli`, above `auditor.pipeline` (each tenant's audit is `run_audit`).
"""
