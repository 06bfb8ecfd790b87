import datetime as dt
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.models import Severity


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auditor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_in_repo_loads():
    config = load_config(Path(__file__).parent.parent / "auditor.toml.example")
    assert config.organisation
    assert config.params["MAC-SYN-001"]["max_days"] == 30


def test_defaults_without_a_file():
    config = load_config(None)
    assert config.formats == ("json", "xlsx", "pdf")
    assert config.source == "sample"


def test_values_are_read_and_paths_are_relative_to_the_file(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
organisation = "Contoso"
as_of = 2026-09-01
[output]
dir = "out"
formats = ["json"]
[rules]
exclude = ["MAC-OS-005"]
[rules.severity]
"MAC-ENR-005" = "medium"
[rules.params."MAC-SYN-001"]
max_days = 14
[vms]
approved_serials = ["Z4K614MYR0"]
[policy]
personal_macs_allowed = false
[waivers]
file = "waivers.toml"
""",
        )
    )
    assert config.organisation == "Contoso"
    assert config.as_of == dt.date(2026, 9, 1)
    assert config.out_dir == tmp_path / "out"
    assert config.severity == {"MAC-ENR-005": Severity.MEDIUM}
    assert config.waivers_file == tmp_path / "waivers.toml"
    from auditor.rules.settings import rule_params

    params = rule_params(config)  # [vms] and [policy] reach the rules of those groups
    assert params["MAC-SYN-001"] == {"max_days": 14}
    assert params["MAC-VM-001"]["approved_serials"] == ("Z4K614MYR0",)
    assert params["MAC-TEN-006"]["personal_allowed"] is False
    assert len(config.digest) == 64


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """
colour = "blue"
client_secret = "oops"
[output]
formats = ["pdf", "docx"]
pages = 3
[rules.severity]
"MAC-FV-001" = "catastrophic"
[graph]
cloud = "mars"
max_concurrency = "eight"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    for expected in (
        "unknown key 'colour'",
        "unknown key 'client_secret' (secrets belong in environment variables)",
        "unknown format 'docx'",
        "unknown key 'output.pages'",
        "'catastrophic' is not a severity",
        "'mars' is not one of",
        "graph.max_concurrency: expected an integer",
    ):
        assert expected in message
    assert str(path) in message


def test_invalid_toml_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"auditor\.toml: not valid TOML"):
        load_config(write(tmp_path, "organisation = \n"))


def test_flags_override_file_values(tmp_path):
    config = load_config(write(tmp_path, '[graph]\ncloud = "usgov"\n'))
    changed = config.with_overrides(cloud="china", out_dir=None, formats=("pdf",))
    assert changed.graph.cloud == "china"
    assert changed.formats == ("pdf",)
    assert changed.out_dir == Path("reports")  # unset in the file: relative to the working dir


def test_listing_inputs_means_auditing_them_never_the_sample(tmp_path):
    config = load_config(write(tmp_path, 'inputs = ["devices.json"]\n'))
    assert config.source == "files"
    assert config.inputs == (tmp_path / "devices.json",)
    with pytest.raises(ConfigError, match="only read with source"):
        load_config(write(tmp_path, 'source = "sample"\ninputs = ["devices.json"]\n'))


def test_rule_ids_parameter_names_and_values_are_checked_with_the_file(tmp_path):
    from auditor.rules.settings import rule_problems

    path = write(
        tmp_path,
        'colour = "blue"\n[rules]\nexclude = ["MAC-OS-999"]\n'
        '[rules.params."MAC-SYN-001"]\nmax_day = 3\n'
        '[rules.params."MAC-SYN-002"]\nmax_days = -5\n'
        '[rules.params."MAC-TEN-006"]\npersonal_allowed = "no"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, check=rule_problems)
    message = str(caught.value)
    assert "5 problem(s)" in message
    for expected in (
        "unknown key 'colour'",
        "rules.exclude: unknown rule id 'MAC-OS-999'",
        "rules.params.MAC-SYN-001.max_day: unknown parameter (known: max_days)",
        "rules.params.MAC-SYN-002.max_days: must be 0 or more, got -5",
        "rules.params.MAC-TEN-006.personal_allowed: expected true/false, got 'no'",
    ):
        assert expected in message


def test_excluding_every_rule_is_an_error(tmp_path):
    from auditor.rules import ALL_RULES
    from auditor.rules.settings import rule_problems

    ids = ", ".join(f'"{r.id}"' for r in ALL_RULES)
    with pytest.raises(ConfigError, match="leave no rule"):
        load_config(write(tmp_path, f"[rules]\nexclude = [{ids}]\n"), check=rule_problems)


def test_a_rules_own_parameter_wins_over_its_groups_policy_setting(tmp_path):
    from auditor.rules.settings import rule_params

    config = load_config(
        write(
            tmp_path,
            '[vms]\napproved_serials = ["A"]\n'
            '[rules.params."MAC-VM-001"]\napproved_serials = ["B"]\n',
        )
    )
    params = rule_params(config)
    assert params["MAC-VM-001"] == {"approved_serials": ("B",), "approved_name_patterns": ()}
    assert params["MAC-TEN-006"] == {"personal_allowed": True}
    assert "MAC-FV-001" not in params  # no group, no configured value


def test_the_example_audits_graph_or_files_never_the_fictional_sample():
    # User review A5: copying the example and running `auditor run` audited the sample tenant.
    example = Path(__file__).parent.parent / "auditor.toml.example"
    config = load_config(example)
    assert config.source == "graph"
    assert config.waiver_policy.max_days[Severity.CRITICAL] == 30
    uncommented = [line.split("#")[0] for line in example.read_text().splitlines()]
    assert not any('"sample"' in line for line in uncommented)


def test_waiver_policy_and_sign_off_are_read_and_checked(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "[waivers]\nmax_days = { high = 45 }\nallow_wildcards_on_critical = true\n"
            '[report]\nprepared_by = " Jane Doe "\nreviewed_by = "John Roe"\n',
        )
    )
    assert config.waiver_policy.max_days[Severity.HIGH] == 45
    assert config.waiver_policy.max_days[Severity.CRITICAL] == 30  # the default stays
    assert config.waiver_policy.allow_wildcards_on_critical is True
    assert (config.prepared_by, config.reviewed_by) == ("Jane Doe", "John Roe")
    with pytest.raises(ConfigError) as caught:
        load_config(
            write(
                tmp_path,
                "[waivers]\nmax_days = { urgent = 5, high = 0 }\nrequire_distinct_approver = 1\n"
                "[report]\nsigned_by = 'x'\n",
            )
        )
    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "waivers.max_days.urgent: not a severity" in message
    assert "waivers.max_days.high: expected whole days (1 or more), got 0" in message
    assert "waivers.require_distinct_approver: expected true/false, got 1" in message
    assert "unknown key 'report.signed_by'" in message


def test_owners_sla_days_default_and_override_per_severity(tmp_path):
    assert load_config(None).sla_days == {"critical": 14, "high": 30, "medium": 90, "low": 180}
    path = tmp_path / "auditor.toml"
    path.write_text('[owners]\ngroup_by = "owner"\n[owners.sla_days]\nhigh = 7\n')
    config = load_config(path)
    assert config.sla_days == {"critical": 14, "high": 7, "medium": 90, "low": 180}
    assert config.owner_group_by == "owner"
    assert config.graph.lookup_owners is False


def test_owners_entra_lookup_and_department_grouping(tmp_path):
    path = tmp_path / "auditor.toml"
    path.write_text('[owners]\ngroup_by = "department"\nentra_lookup = true\n')
    config = load_config(path)
    assert config.owner_group_by == "department"
    assert config.graph.lookup_owners is True


def test_owners_problems_are_named(tmp_path):
    path = tmp_path / "auditor.toml"
    path.write_text('[owners]\ngroup_by = "team"\n[owners.sla_days]\nurgent = 3\nhigh = -1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "owners.group_by: 'team' is not one of category, owner, department, scope_tag" in message
    assert "owners.sla_days.urgent: 'urgent' is not a severity" in message
    assert "owners.sla_days.high: must be a whole number of days, 0 or more" in message
