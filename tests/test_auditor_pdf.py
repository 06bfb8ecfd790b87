"""Issue 14 / user review A11: the PDF an auditor files. PDF/A with findings.json attached, the
scope of the audit, each rule's sources, a sign-off block, how to verify, and reasons in words.

`auditor run` in process on the bundled sample tenant; the PDF is read back with pypdf.
"""

import re
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages
from pypdf import PdfReader

from auditor.rules import ALL_RULES

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
INTERNAL_NAMES = re.compile(r"\b[a-z]+_[a-z_]+=|missing: |not collected: |os_version_key")


@pytest.fixture(scope="module")
def filed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("filed")
    assert auditor("keygen", str(folder / "keys")).returncode == 0
    config = folder / "auditor.toml"
    config.write_text(
        (SAMPLE / "auditor.toml").read_text(encoding="utf-8")
        + '\n[report]\nprepared_by = "Mac Admin"\nreviewed_by = "Ext. Auditor"\n',
        encoding="utf-8",
    )
    out = folder / "out"
    done = auditor("run", "--as-of", "2026-09-01", "--out", str(out), "--no-history",
                   "--config", str(config), "--format", "json,pdf",
                   "--sign-key", str(folder / "keys" / "auditor-signing.key"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_the_pdf_is_pdf_a_3_tagged_with_findings_json_attached(filed):
    reader = PdfReader(filed / "report.pdf")
    root = reader.trailer["/Root"]
    metadata = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in metadata and 'pdfaid:conformance="A"' in metadata
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root  # tagged
    assert "/OutputIntents" in root
    (attached,) = reader.attachments["findings.json"]
    assert attached == (filed / "findings.json").read_bytes()


def link_targets(path: Path) -> set[str]:
    targets = set()
    for page in PdfReader(path).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                targets.add(str(action["/URI"]))
    return targets


def test_every_rule_cites_its_sources_as_links(filed):
    targets = link_targets(filed / "report.pdf")
    for rule in ALL_RULES:
        assert set(rule.references) <= targets, rule.id
    failing = {r["rule_id"] for r in findings(filed)["summary"]["rules"] if r["fail"]}
    sections = " ".join(pdf_pages(filed))
    assert sections.count("Sources:") == len(failing)  # in each failing rule's section too


def test_the_appendix_states_the_scope_with_its_exclusions(filed):
    text = " ".join(pdf_pages(filed))
    assert "In scope: the macOS devices managed by Intune in the inputs below — 300 Macs" in text
    assert "not macOS: other platforms are out of scope 2 2 Windows devices ignored" in text


def test_the_appendix_says_how_to_verify_and_prints_the_key_fingerprint(filed):
    import json

    manifest = json.loads((filed / "manifest.json").read_text())
    fingerprint = manifest["signature"]["public_key_sha256"]
    text = " ".join(pdf_pages(filed))
    assert "auditor verify FOLDER --key PUBLIC_KEY.pem" in text
    assert fingerprint in re.sub(r"\s", "", text)
    assert "auditor verify FOLDER --rerun" in text


def test_a_sign_off_block_carries_the_configured_names(filed):
    last = pdf_pages(filed)[-1]
    assert "Sign-off" in last
    assert "Prepared by Mac Admin" in last and "Reviewed by Ext. Auditor" in last


def test_reasons_are_words_never_internal_field_names(tmp_path):
    done = auditor("run", "--input", str(SAMPLE / "managed_devices.json"), "--as-of",
                   "2026-09-01", "--out", str(tmp_path), "--no-history",
                   "--format", "json,pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    # the Data quality pages: what could not be collected, inventory notes, unknown reasons
    pages = pdf_pages(tmp_path)
    start = next(i for i, page in enumerate(pages) if page.startswith("Data quality"))
    end = next(i for i, page in enumerate(pages) if page.startswith("Waivers"))
    quality = " ".join(pages[start:end])
    assert "primary user missing" in quality  # a normalization note's field, in words
    reasons = quality.split("Undecided results (unknown)")[1]
    assert not INTERNAL_NAMES.search(reasons), INTERNAL_NAMES.search(reasons)
    assert "apple_silicon" not in reasons and "Apple silicon" in reasons
    assert "bootstrap token not reported" in reasons
    details = {f["detail"] for f in findings(tmp_path)["findings"] if f["status"] == "unknown"}
    assert not any(INTERNAL_NAMES.search(d) for d in details)
    assert any(d.startswith("bootstrap token not reported; per-device details") for d in details)
