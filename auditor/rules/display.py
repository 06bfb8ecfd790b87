"""How rule metadata reads in every output: one spelling each for parameters and control mappings.

docs/rules.md, `auditor rules`, the PDF, the workbook and findings.json all show a parameter
value, a rule's parameter list and its control mappings through these functions, so the same
rule reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from auditor.models import Param

# Marks a framework whose mapping to the rule is this project's own, not a published crosswalk.
OWN_MAPPING_MARK = "†"
NO_VALUE = "(none)"


def param_text(value: Param) -> str:
    """A parameter value as auditor.toml spells it: `30`, `true`, `QA-VM-*, LAB-*`, `(none)`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or NO_VALUE
    return str(value)


def params_text(
    values: Sequence[tuple[str, str]], defaults: Mapping[str, str] | None = None
) -> str:
    """`name=value` pairs joined by '; ', a changed value followed by its default in brackets.

    `values` and `defaults` hold texts from `param_text`.
    """
    changed = defaults or {}
    return "; ".join(
        f"{name}={text}" + (f" (default {changed[name]})" if name in changed else "")
        for name, text in values
    )


def controls_text(controls: Mapping[str, Sequence[str]], own: Collection[str]) -> str:
    """`NIST 800-53: CM-2, CM-6; ISO/IEC 27001:2022†: A.8.1`, own mappings marked."""
    return "; ".join(
        f"{framework}{OWN_MAPPING_MARK if framework in own else ''}: {', '.join(ids)}"
        for framework, ids in controls.items()
    )
