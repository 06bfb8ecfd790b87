"""tenants.toml: every problem at once (exit 2), per-tenant configs and credentials, selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import auditor

from auditor.cli.options import load_config_file
from auditor.config import Config, CredentialEnv
from auditor.errors import ConfigError
from auditor.models import Severity
from auditor.rules.settings import rule_problems
from auditor.sources.graph_auth import StaticTokenCredential, make_credential
from auditor.tenants.file import env_prefix, read_tenants
from auditor.tenants.select import choose_shard, parse_shard, select_tenants, shard_of

CONTOSO = "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e"
FABRIKAM = "1f0e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1b"
NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _read(path: Path, config: Path | None = None):  # type: ignore[no-untyped-def]
    return read_tenants(path, load_config_file, config, check=rule_problems)


def test_a_tenant_is_the_base_configuration_with_its_overrides(tmp_path):
    (tmp_path / "auditor.toml").write_text(
        'classification = "INTERNAL"\n[rules.params]\n"MAC-SYN-001" = { max_days = 30 }\n'
        '[rules.severity]\n"MAC-SYN-001" = "low"\n'
    )
    (tmp_path / "waivers").mkdir()
    (tmp_path / "waivers" / "contoso.toml").write_text("")
    (tmp_path / "tenants.toml").write_text(
        f"""
[defaults]
config = "auditor.toml"
client_id = "11111111-2222-3333-4444-555555555555"
[run]
concurrency = 2
workers = 1
[[tenant]]
name = "contoso"
tenant_id = "{CONTOSO}"
display_name = "Contoso Ltd"
groups = ["EU customers"]
waivers = "waivers/contoso.toml"
personal_macs_allowed = false
classification = "Confidential"
[tenant.rules.params]
"MAC-SYN-001" = {{ max_days = 21 }}
[[tenant]]
name = "fabrikam-eu"
tenant_id = "{FABRIKAM}"
token_env = "FABRIKAM_TOKEN"
"""
    )
    tenants = _read(tmp_path / "tenants.toml")
    assert (tenants.concurrency, tenants.workers) == (2, 1)
    contoso, fabrikam = tenants.tenants
    assert contoso.config.organisation == "Contoso Ltd"  # display_name by default
    assert contoso.config.classification == "Confidential"
    assert contoso.config.params["MAC-SYN-001"] == {"max_days": 21}
    assert contoso.config.severity["MAC-SYN-001"] is Severity.LOW  # the base's, kept
    assert contoso.config.personal_macs_allowed is False
    assert contoso.config.waivers_file == tmp_path / "waivers" / "contoso.toml"
    assert contoso.config.graph.tenant_id == CONTOSO
    assert contoso.config.graph.client_id == "11111111-2222-3333-4444-555555555555"
    assert contoso.config.graph.credentials.token == "AUDITOR_CONTOSO_GRAPH_TOKEN"
    assert fabrikam.config.organisation == "fabrikam-eu"
    assert fabrikam.config.classification == "INTERNAL"
    assert fabrikam.config.params["MAC-SYN-001"] == {"max_days": 30}
    assert fabrikam.config.graph.credentials.token == "FABRIKAM_TOKEN"
    assert fabrikam.config.graph.credentials.client_secret == "AUDITOR_FABRIKAM_EU_CLIENT_SECRET"
    assert env_prefix("fabrikam-eu") == "AUDITOR_FABRIKAM_EU_"
    assert contoso.config.digest != fabrikam.config.digest  # the overrides are in the digest


def test_every_problem_is_reported_at_once_naming_the_tenant_and_key(tmp_path):
    (tmp_path / "tenants.toml").write_text(
        f"""
client_secret = "oops"
[run]
concurrency = 0
[[tenant]]
name = "contoso"
tenant_id = "{CONTOSO}"
[[tenant]]
name = "Bad Name"
tenant_id = "contoso.onmicrosoft.com"
waivers = "missing.toml"
cloud = "mars"
graph_url = "http://user:pw@127.0.0.1:1/v1.0"
[tenant.rules.params]
"MAC-SYN-001" = {{ max_dayz = 3 }}
[[tenant]]
name = "contoso"
tenant_id = "{CONTOSO.upper()}"
secret = "x"
[[tenant]]
display_name = "No name, no id"
[[tenant]]
name = "contoso_eu"
tenant_id = "{FABRIKAM}"
[[tenant]]
name = "contoso-eu"
tenant_id = "{NORTHWIND}"
"""
    )
    with pytest.raises(ConfigError) as caught:
        _read(tmp_path / "tenants.toml")
    text = str(caught.value)
    assert str(tmp_path / "tenants.toml") in text
    for expected in (
        "unknown key 'client_secret' (secrets belong in environment variables",
        "run.concurrency: must be between 1 and 64, got 0",
        "tenant[2] (Bad Name): name: 'Bad Name' must be lower-case",
        "tenant[2] (Bad Name): tenant_id: 'contoso.onmicrosoft.com' is not a directory id",
        "tenant[2] (Bad Name): waivers:",
        "tenant[2] (Bad Name): cloud: 'mars'",
        "tenant[2] (Bad Name): graph_url: must not carry a user name or password",
        "tenant[3] (contoso): name: the same name as tenant[1] (contoso)",
        "tenant[3] (contoso): tenant_id: the same directory id as tenant[1] (contoso)",
        "tenant[3] (contoso): unknown key 'secret' (secrets belong",
        "tenant[4] (?): name: required",
        "tenant[4] (?): tenant_id: required",
        "tenant[6] (contoso-eu): name: the same variables (AUDITOR_<NAME>_…) as tenant[5]",
    ):
        assert expected in text, expected
    assert "problem(s)" in text


def test_rule_parameters_are_checked_against_the_catalogue_per_tenant(tmp_path):
    (tmp_path / "tenants.toml").write_text(
        f'[[tenant]]\nname = "contoso"\ntenant_id = "{CONTOSO}"\n'
        '[tenant.rules.params]\n"MAC-SYN-001" = { max_dayz = 3 }\n"MAC-NOPE-001" = { x = 1 }\n'
    )
    with pytest.raises(ConfigError) as caught:
        _read(tmp_path / "tenants.toml")
    assert "tenant[1] (contoso): rules.params.MAC-SYN-001.max_dayz: unknown parameter" in str(
        caught.value
    )
    assert "tenant[1] (contoso): rules.params: unknown rule id 'MAC-NOPE-001'" in str(caught.value)


def test_files_the_tenants_file_names_need_not_exist_for_a_reader_of_identities(tmp_path):
    """`portfolio --tenants` reads who the tenants are on a machine without their files."""
    (tmp_path / "tenants.toml").write_text(
        '[defaults]\nconfig = "missing.toml"\ncertificate_path = "certs/app.pem"\n'
        f'[[tenant]]\nname = "contoso"\ntenant_id = "{CONTOSO}"\nwaivers = "w/contoso.toml"\n'
    )
    with pytest.raises(ConfigError) as error:
        _read(tmp_path / "tenants.toml")
    for named in ("missing.toml", "certs/app.pem", "w/contoso.toml"):
        assert f"{named} does not exist" in str(error.value)
    tenants = read_tenants(
        tmp_path / "tenants.toml", lambda _base: Config(), check_files=False
    ).tenants
    assert [(t.name, t.tenant_id) for t in tenants] == [("contoso", CONTOSO)]


def test_the_cli_exits_2_on_a_bad_tenants_file_and_writes_nothing(tmp_path):
    (tmp_path / "tenants.toml").write_text('[[tenant]]\nname = "x"\n')
    done = auditor(
        "run", "--tenants", str(tmp_path / "tenants.toml"), "--out", str(tmp_path / "r/{tenant}"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "tenant[1] (x): tenant_id: required" in done.stderr
    assert not (tmp_path / "r").exists()


def test_tenant_flags_need_a_tenants_file_and_out_needs_the_tenant(tmp_path):
    done = auditor("run", "--shard", "1/2", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert done.returncode == 2 and "--shard: only with --tenants FILE" in done.stderr
    (tmp_path / "t.toml").write_text(f'[[tenant]]\nname = "a"\ntenant_id = "{CONTOSO}"\n')
    done = auditor("run", "--tenants", "t.toml", "--out", "reports", cwd=tmp_path)
    assert done.returncode == 2 and "{tenant}" in done.stderr
    done = auditor(
        "run", "--tenants", "t.toml", "--out", "r/{tenant}", "--input", "x.json", cwd=tmp_path
    )
    assert done.returncode == 2 and "--input" in done.stderr


def test_a_tenant_reads_only_its_own_variables_and_never_the_default_credential(monkeypatch):
    env = CredentialEnv(
        token="AUDITOR_CONTOSO_GRAPH_TOKEN",
        client_secret="AUDITOR_CONTOSO_CLIENT_SECRET",
        certificate_path="AUDITOR_CONTOSO_CLIENT_CERTIFICATE_PATH",
        certificate_password="AUDITOR_CONTOSO_CLIENT_CERTIFICATE_PASSWORD",
        tenant_id=None,
        client_id=None,
        use_default=False,
    )
    for name in ("AUDITOR_GRAPH_TOKEN", "AZURE_CLIENT_SECRET", "AUDITOR_CONTOSO_GRAPH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "the-single-tenant-token")
    with pytest.raises(ConfigError, match="AUDITOR_CONTOSO_CLIENT_SECRET"):
        make_credential("global", CONTOSO, "client", env)
    monkeypatch.setenv("AUDITOR_CONTOSO_GRAPH_TOKEN", "contoso-token")
    credential, described = make_credential("global", CONTOSO, "client", env)
    assert isinstance(credential, StaticTokenCredential)
    assert credential.get_token("scope").token == "contoso-token"
    assert "AUDITOR_CONTOSO_GRAPH_TOKEN" in described and "contoso-token" not in described


def _tenants(tmp_path: Path):  # type: ignore[no-untyped-def]
    rows = [("contoso", CONTOSO, '["EU"]'), ("fabrikam", FABRIKAM, '["EU", "US"]'),
            ("northwind", NORTHWIND, "[]")]  # fmt: skip
    (tmp_path / "t.toml").write_text(
        "".join(f'[[tenant]]\nname = "{n}"\ntenant_id = "{i}"\ngroups = {g}\n' for n, i, g in rows)
    )
    return _read(tmp_path / "t.toml").tenants


def test_selection_by_name_and_group_and_unknown_ones_list_the_known(tmp_path):
    tenants = _tenants(tmp_path)
    assert [t.name for t in select_tenants(tenants, groups=["US"])] == ["fabrikam"]
    assert [t.name for t in select_tenants(tenants, ["northwind"], ["US"])] == [
        "fabrikam",
        "northwind",
    ]
    with pytest.raises(ConfigError) as caught:
        select_tenants(tenants, ["nope"], ["Mars"])
    assert "unknown nope (known: contoso, fabrikam, northwind)" in str(caught.value)
    assert "unknown Mars (known: EU, US)" in str(caught.value)


def test_shards_split_the_tenants_by_a_stable_hash_of_the_tenant_id(tmp_path):
    tenants = _tenants(tmp_path)
    shards = [select_tenants(tenants, shard=parse_shard(f"{k}/3")) for k in (1, 2, 3)]
    names = sorted(t.name for shard in shards for t in shard)
    assert names == ["contoso", "fabrikam", "northwind"]  # each exactly once
    assert shard_of(CONTOSO.upper(), 3) == shard_of(CONTOSO, 3)
    expected = int.from_bytes(__import__("hashlib").sha256(CONTOSO.encode()).digest(), "big") % 3
    assert shard_of(CONTOSO, 3) == expected + 1


@pytest.mark.parametrize("value", ["0/3", "4/3", "x", "1/0"])
def test_a_bad_shard_is_a_config_error(value):
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(value)


def test_an_indexed_job_picks_its_shard_and_needs_the_count():
    assert str(choose_shard(None, None, {"JOB_COMPLETION_INDEX": "1", "AUDITOR_SHARD_COUNT": "3"}))
    assert choose_shard(None, None, {"JOB_COMPLETION_INDEX": "2", "AUDITOR_SHARD_COUNT": "3"}) == (
        parse_shard("3/3")
    )
    assert choose_shard(None, 4, {"JOB_COMPLETION_INDEX": "0"}) == parse_shard("1/4")
    assert choose_shard("2/2", None, {"JOB_COMPLETION_INDEX": "0"}) == parse_shard("2/2")
    assert choose_shard(None, None, {}) is None
    with pytest.raises(ConfigError, match="set AUDITOR_SHARD_COUNT"):
        choose_shard(None, None, {"JOB_COMPLETION_INDEX": "0"})
    with pytest.raises(ConfigError, match="outside"):
        choose_shard(None, None, {"JOB_COMPLETION_INDEX": "3", "AUDITOR_SHARD_COUNT": "3"})


def test_the_documented_example_reads(tmp_path):
    example = Path(__file__).resolve().parent.parent / "tenants.toml.example"
    (tmp_path / "tenants.toml").write_text(example.read_text())
    (tmp_path / "auditor.toml").write_text('organisation = "MSP"\n')
    for name in ("waivers/contoso.toml", "certs/fabrikam-eu.pem"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    names = [t.name for t in _read(tmp_path / "tenants.toml").tenants]
    assert names == ["contoso", "fabrikam-eu", "northwind"]


def test_a_wrong_signing_key_stops_the_run_before_any_tenant_is_pulled(tmp_path):
    (tmp_path / "t.toml").write_text(
        f'[[tenant]]\nname = "a"\ntenant_id = "{CONTOSO}"\ngraph_url = "http://127.0.0.1:9/v1.0"\n'
    )
    (tmp_path / "bad.key").write_text("not a key")
    done = auditor(
        "run", "--tenants", "t.toml", "--out", "r/{tenant}", "--no-history", "--sign-key",
        "bad.key", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode not in (0, 9), done.stderr
    assert "bad.key" in done.stderr
    assert not (tmp_path / "r").exists()


def test_an_auditor_toml_beside_the_tenants_file_that_nothing_names_is_said_to_be_unread(
    tmp_path, monkeypatch, caplog
):
    """The Kubernetes recipe's shape: tenants.toml and auditor.toml in /config, the working
    folder elsewhere (/data). Unnamed, the base is not read, and the run says so."""
    caplog.set_level("WARNING", logger="auditor.tenants.file")
    config = tmp_path / "config"
    config.mkdir()
    (config / "auditor.toml").write_text('classification = "INTERNAL"\n')
    tenant = f'[[tenant]]\nname = "contoso"\ntenant_id = "{CONTOSO}"\n'
    (config / "tenants.toml").write_text(tenant)
    monkeypatch.chdir(tmp_path)  # the pod's working folder: no auditor.toml there
    (unnamed,) = _read(config / "tenants.toml").tenants
    assert unnamed.config.classification == "CONFIDENTIAL"  # the built-in default: not read
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        f"{config / 'auditor.toml'} is not read: tenants.toml names no base configuration, so "
        "every tenant runs on the built-in defaults; to use it, add [defaults] config = "
        '"auditor.toml" to tenants.toml (or pass --config)'
    )
    caplog.clear()
    (tmp_path / "auditor.toml").write_text('classification = "PUBLIC"\n')  # the working folder's
    (elsewhere,) = _read(config / "tenants.toml").tenants
    assert elsewhere.config.classification == "PUBLIC"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"every tenant runs on {tmp_path.resolve() / 'auditor.toml'}; to use it" in warning
    (tmp_path / "auditor.toml").unlink()
    caplog.clear()
    (config / "tenants.toml").write_text('[defaults]\nconfig = "auditor.toml"\n' + tenant)
    (named,) = _read(config / "tenants.toml").tenants
    assert named.config.classification == "INTERNAL"
    (config / "tenants.toml").write_text('[defaults]\nconfig = "base.toml"\n' + tenant)
    with pytest.raises(ConfigError, match=r"defaults\.config: .*base\.toml does not exist"):
        _read(config / "tenants.toml")  # named but missing: that error, not "names none"
    (config / "tenants.toml").write_text(tenant)
    _read(config / "tenants.toml", config / "auditor.toml")  # --config names it
    monkeypatch.chdir(config)  # beside tenants.toml *and* the working folder's: read anyway
    (here,) = _read(config / "tenants.toml").tenants
    assert here.config.classification == "INTERNAL"
    assert caplog.records == []
