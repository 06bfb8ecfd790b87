"""report.html in a real headless Chromium (Debian's chromium + chromium-driver, via Selenium).

One browser for the whole module (a session fixture). Without Chromium the tests fail with the
install line: they never skip, so a machine without the browser cannot pass the suite.
The sample report is the bundled sample tenant audited by `auditor run --format html,json`.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest
from browser import BrowserMissing, chromium, open_report
from cli_runner import auditor
from PIL import Image
from pypdf import PdfReader
from report_inputs import AS_OF, FORMULA, SCRIPT, changes, inventory, meta, results_for
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from auditor.models import SourceGap
from auditor.normalize import normalize
from auditor.pipeline import tenant_files
from auditor.render.html import render
from auditor.render.json_population import population_block
from auditor.report import build_report
from auditor.rules import ALL_RULES
from auditor.sources.files import read_files

IMG = '<img src=x onerror="window.__pwned=1">'
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
# findings.json's `population` keys shown as counts (`data-population`), in page order
POPULATION_COUNTS = (
    "assigned", "enrolled_via_ade", "enrolled_otherwise", "enrolled_method_unknown", "not_enrolled",
    "never_enrolled", "managed_not_in_abm", "deleted_in_abm", "platform_not_reported",
    "devices_without_serial",
)  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    try:
        with chromium() as driver:
            yield driver
    except BrowserMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample-html")
    done = auditor(
        "run", "--as-of", "2026-09-01", "--out", str(out), "--no-history", "--format", "html,json"
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").is_file()
    return out / "report.html", json.loads((out / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The hand-made tenant with a script, a formula and an <img onerror> as Mac names."""
    inv = inventory()
    inv.devices.loc[inv.devices["device_id"] == "dev-01", "device_name"] = IMG
    inv.gaps.append(
        SourceGap("managed_devices", "500 after 3 tries", ("device_id",), True, "failed")
    )
    outcome = results_for(inv)
    report = build_report(
        outcome.results, inv, ALL_RULES, outcome.uses, meta(stale=True), changes()
    )
    path = tmp_path_factory.mktemp("hostile") / "report.html"
    render(report, path, compress_over=10**9)  # plain JSON: the escaping path
    return path


@pytest.fixture(scope="module")
def device_list_only(tmp_path_factory) -> tuple[Path, dict]:
    """Issue 14's run: the sample's device list only, so no ABM serial was collected."""
    out = tmp_path_factory.mktemp("device-list-only")
    done = auditor(
        "run", "--input", str(SAMPLE / "managed_devices.json"), "--as-of", "2026-09-01",
        "--out", str(out), "--no-history", "--format", "html,json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out / "report.html", json.loads((out / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cut_population(tmp_path_factory) -> tuple[Path, dict]:
    """The sample tenant with an <img onerror> as an ADE token's name, its device list cut short
    and one token's serials denied (the gaps a Graph pull records)."""
    folder = tmp_path_factory.mktemp("cut-population")
    for source in tenant_files(SAMPLE):
        shutil.copy(source, folder / source.name)
    settings = json.loads((folder / "dep_onboarding_settings.json").read_text(encoding="utf-8"))
    settings["value"][0]["tokenName"] = IMG
    (folder / "dep_onboarding_settings.json").write_text(json.dumps(settings), encoding="utf-8")
    cut = SourceGap("managed_devices", "cut short", ("device_id",), True, "partial")
    denied = SourceGap("ade_identities", "one token denied", ("serial_number",), False, "denied")
    readings = read_files(tenant_files(folder))
    inv = normalize(readings.batches, inputs=readings.inputs, gaps=[cut, denied])
    outcome = results_for(inv)
    report = build_report(outcome.results, inv, ALL_RULES, outcome.uses, meta())
    path = folder / "report.html"
    render(report, path, compress_over=10**9)
    return path, population_block(report)


def fresh(driver, path: Path, fragment: str = "") -> float:
    """Open the report as a new page load (not a same-document fragment change)."""
    driver.get("about:blank")
    return open_report(driver, path, fragment)


def row_count(driver, table: str) -> int:
    node = driver.find_element(By.CSS_SELECTOR, f'[data-table="{table}"] [data-testid="row-count"]')
    return int(node.get_attribute("data-count"))


def settles_at(driver, table: str, expected: int) -> None:
    """Wait for a debounced search to apply, then check the count."""
    WebDriverWait(driver, 10, poll_frequency=0.05).until(
        lambda d: row_count(d, table) == expected, f"{table}: expected {expected} rows"
    )


def population_shown(driver) -> dict[str, str]:
    """The summary's Population counts as shown, by findings.json key."""
    cells = driver.find_elements(By.CSS_SELECTOR, '[data-testid="population"] [data-population]')
    return {c.get_attribute("data-population"): c.text for c in cells}


def population_tokens(driver) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, '[data-testid="population-tokens"] tbody tr')
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_the_page_loads_from_file_and_nothing_leaves_it(browser, sample):
    path, _ = sample
    browser.get_log("performance")  # drop what earlier pages logged
    fresh(browser, path)
    for view in ("findings", "devices", "rules", "tenant", "changes", "quality", "method"):
        browser.find_element(By.CSS_SELECTOR, f'#tabs button[data-view="{view}"]').click()
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert requested, "the performance log records the page's own load"
    assert all(url.startswith(("file://", "about:")) for url in requested), requested
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors  # no CSP violation, no script error
    assert browser.execute_script(
        "return document.getElementById('report-data').type"
    ) == "application/gzip+base64"  # fmt: skip


def test_the_summary_states_the_numbers_of_findings_json(browser, sample):
    path, data = sample
    fresh(browser, path)
    summary = data["summary"]

    def text(selector: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, selector).text

    assert text('[data-testid="devices"]') == f"{summary['devices']:,}"
    assert text('[data-testid="posture-count"]') == f"{summary['posture']['devices']:,}"
    assert text('[data-testid="posture-pct"]') == f"{summary['posture']['pct']:.1f} %"
    for key, kpi in summary["kpis"].items():
        if key != "devices":
            assert text(f'[data-kpi-count="{key}"]') == f"{kpi['devices']:,}", key
    statuses = text('[data-testid="status-counts"]')
    for status, count in summary["status"].items():
        assert f"{status} {count:,}" in statuses


def test_filtering_by_severity_and_searching_by_serial_give_the_expected_rows(browser, sample):
    path, data = sample
    fresh(browser, path, "#view=findings")
    findings = data["findings"]
    assert row_count(browser, "findings") == len(findings)
    Select(browser.find_element(By.CSS_SELECTOR, '[data-filter="severity"]')).select_by_value(
        "high"
    )
    high = sum(1 for f in findings if f["severity"] == "high")
    assert row_count(browser, "findings") == high
    assert "view=findings" in browser.current_url and "f.severity=high" in browser.current_url
    serial = next(f["serial_number"] for f in findings if f["severity"] == "high")
    search = browser.find_element(By.CSS_SELECTOR, '[data-table="findings"] [data-testid="search"]')
    search.send_keys(serial.lower())
    expected = sum(1 for f in findings if f["severity"] == "high" and f["serial_number"] == serial)
    settles_at(browser, "findings", expected)
    assert browser.execute_script("return window.__auditor.lastFilterMs") is not None
    fresh(browser, path, "#view=devices")
    search = browser.find_element(By.CSS_SELECTOR, '[data-table="devices"] [data-testid="search"]')
    search.send_keys(serial)
    settles_at(browser, "devices", 1)


def test_a_deep_link_restores_the_filtered_view(browser, sample):
    path, data = sample
    bootstrap = next(r for r in data["summary"]["rules"] if r["rule_id"] == "MAC-BST-001")
    fresh(browser, path, "#view=devices&f.MAC-BST-001=fail")
    assert row_count(browser, "devices") == bootstrap["fail"]
    chosen = Select(browser.find_element(By.CSS_SELECTOR, '[data-filter="MAC-BST-001"]'))
    assert chosen.first_selected_option.get_attribute("value") == "fail"
    note = browser.find_element(
        By.CSS_SELECTOR, '[data-table="devices"] [data-testid="filters-note"]'
    )
    assert note.text == "Filtered: MAC-BST-001 = fail"
    # a link made by filtering in the page opens the same view elsewhere
    Select(browser.find_element(By.CSS_SELECTOR, '[data-filter="os_major"]')).select_by_index(1)
    narrowed, url = row_count(browser, "devices"), browser.current_url
    browser.get("about:blank")
    open_report(browser, path, "#" + url.split("#", 1)[1])
    assert row_count(browser, "devices") == narrowed
    # several values of one column
    fresh(browser, path, "#view=findings&f.severity=critical&f.severity=high")
    wanted = sum(1 for f in data["findings"] if f["severity"] in ("critical", "high"))
    assert row_count(browser, "findings") == wanted
    shown = Select(browser.find_element(By.CSS_SELECTOR, '[data-filter="severity"]'))
    assert shown.first_selected_option.text == "critical or high"
    # a value no row has shows as itself with no rows, never as an unfiltered list
    fresh(browser, path, "#view=findings&f.severity=urgent")
    assert row_count(browser, "findings") == 0
    shown = Select(browser.find_element(By.CSS_SELECTOR, '[data-filter="severity"]'))
    assert shown.first_selected_option.text == "urgent"


def test_a_column_filter_keeps_its_focus_while_the_rows_redraw(browser, sample):
    path, data = sample
    fresh(browser, path, "#view=findings")
    box = browser.find_element(By.CSS_SELECTOR, '[data-table="findings"] [data-filter="upn"]')
    box.send_keys("@contoso")
    settles_at(
        browser, "findings", sum(1 for f in data["findings"] if "@contoso" in (f["upn"] or ""))
    )
    box.send_keys(".com")  # typed after the redraw: still in the same box
    note = browser.find_element(
        By.CSS_SELECTOR, '[data-table="findings"] [data-testid="filters-note"]'
    )
    WebDriverWait(browser, 10).until(lambda d: "@contoso.com" in note.text)
    assert note.text == "Filtered: Primary user contains “@contoso.com”"
    assert "t.upn=%40contoso.com" in browser.current_url


def test_a_top_rule_on_the_summary_opens_its_failing_macs(browser, sample):
    path, data = sample
    fresh(browser, path)
    first = browser.find_element(By.CSS_SELECTOR, ".view-summary a.internal")
    rule_id = first.text
    first.click()
    failing = sum(1 for f in data["findings"] if f["rule_id"] == rule_id and f["status"] == "fail")
    assert row_count(browser, "findings") == failing
    assert f"f.rule_id={rule_id}" in browser.current_url


def test_sorting_orders_the_rows_and_a_mac_links_to_the_admin_center(browser, sample):
    path, _ = sample
    fresh(browser, path, "#view=devices&sort=-last_sync_at")
    dates = [
        td.text
        for td in browser.find_elements(By.CSS_SELECTOR, '[data-table="devices"] td.c-last_sync_at')
    ]
    known = [d for d in dates if d != "—"]
    assert known == sorted(known, reverse=True) and known
    anchor = browser.find_element(By.CSS_SELECTOR, '[data-table="devices"] td.c-device_name a')
    href = anchor.get_attribute("href")
    assert href.startswith(
        "https://intune.microsoft.com/8b4ae5f1-a941-46a0-956a-26afbccdafe5/#view/"
        "Microsoft_Intune_Devices/DeviceSettingsMenuBlade/~/overview/mdmDeviceId/"
    )
    assert anchor.get_attribute("target") == "_blank"
    assert anchor.get_attribute("rel") == "noopener noreferrer"


def test_hostile_names_show_as_text_and_run_nothing(browser, hostile):
    fresh(browser, hostile, "#view=devices")
    names = [
        td.text
        for td in browser.find_elements(By.CSS_SELECTOR, '[data-table="devices"] td.c-device_name')
    ]
    assert {IMG, SCRIPT, FORMULA} <= set(names)
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    browser.find_element(By.CSS_SELECTOR, '#tabs button[data-view="findings"]').click()
    assert browser.execute_script("return window.__pwned === undefined")
    banner = browser.find_element(By.CSS_SELECTOR, '[data-testid="partial"]')
    assert (
        "PARTIAL DATA" in banner.text and "device list: failed (500 after 3 tries)" in banner.text
    )
    browser.find_element(By.CSS_SELECTOR, '#tabs button[data-view="changes"]').click()
    assert row_count(browser, "changes") == 6  # 3 new, 2 persisting, 1 resolved (report_inputs)
    changed = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "td.c-device_name")]
    assert SCRIPT in changed and FORMULA in changed
    assert browser.execute_script("return window.__pwned === undefined")


def test_without_the_browser_the_tests_fail_with_the_install_line(monkeypatch):
    import browser as harness

    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    with pytest.raises(BrowserMissing, match="apt-get install -y chromium chromium-driver"):
        harness.browser_paths()


def test_a_screenshot_of_the_summary_is_not_blank(browser, sample):
    path, _ = sample
    fresh(browser, path)
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "more than a blank page"
    width, height = image.size
    assert width >= 1000 and height >= 700
    bars = image.crop((0, 0, width, height)).getcolors(maxcolors=1 << 20)
    assert any(colour == (127, 29, 29) for _, colour in bars), "the critical bar is drawn"


def test_printing_gives_every_static_view_on_paper(browser, sample):
    path, _ = sample
    fresh(browser, path)
    pdf = PdfReader(io.BytesIO(base64.b64decode(browser.execute_cdp_cmd(
        "Page.printToPDF", {"printBackground": False}
    )["data"])))  # fmt: skip
    text = " ".join(page.extract_text() for page in pdf.pages)
    for heading in ("Key numbers", "Failing rules", "Tenant rule results", "Normalization notes",
                    "Methodology", "Rule catalogue"):  # fmt: skip
        assert heading in text, heading
    assert "Search names" not in text  # controls are not printed
    assert len(pdf.pages) > 3


def test_the_interactive_report_of_the_sample_is_dated_and_complete(browser, sample):
    path, data = sample
    fresh(browser, path)
    header = browser.find_element(By.CSS_SELECTOR, ".masthead").text
    assert f"as of {AS_OF.isoformat()}" in header and data["run"]["tenant_id"] in header
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="partial"]') == []


def test_a_device_list_only_run_says_partial_and_not_collected_in_the_browser(
    browser, device_list_only
):
    """Issue 14: PARTIAL names every part not collected; a key number nothing measured says so."""
    fresh(browser, device_list_only[0])
    banner = browser.find_element(By.CSS_SELECTOR, '[data-testid="partial"]').text
    assert "per-device details: not supplied" in banner and "silences MAC-BST-001" in banner
    kpi = browser.find_element(By.CSS_SELECTOR, '[data-kpi-count="bootstrap_escrowed"]').text
    assert kpi == "not collected"
    warnings = browser.find_element(By.CSS_SELECTOR, '[data-testid="warnings"]').text
    assert "SAMPLE DATA" in warnings
    unknown = browser.find_element(By.CSS_SELECTOR, '[data-testid="serious-unknown"]').text
    assert unknown.startswith("300 Macs had an unknown on a critical or high rule")


def test_the_population_block_states_the_population_of_findings_json(browser, sample):
    path, data = sample
    population = data["population"]
    assert population["collected"] and population["complete"]  # the sample is whole
    fresh(browser, path)
    assert population_shown(browser) == {key: f"{population[key]:,}" for key in POPULATION_COUNTS}
    assert population_tokens(browser) == [
        [t["token_name"], *(f"{t[k]:,}" for k in POPULATION_COUNTS[:3]), f"{t['not_enrolled']:,}"]
        for t in population["tokens"]
    ]
    state = browser.find_element(By.CSS_SELECTOR, '[data-testid="population-state"]').text
    assert state.startswith("Complete")
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="population-gaps"]') == []
    # after the key numbers, on the summary
    order = browser.execute_script(
        "const s = document.querySelector('[data-testid=\"population\"]');"
        "const k = document.querySelector('[data-kpi-count]');"
        "return !!(k.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING)"
        " && !!s.closest('.view-summary');"
    )
    assert order


def test_without_the_abm_serials_the_population_says_not_collected_never_zero(
    browser, device_list_only
):
    path, data = device_list_only
    population = data["population"]
    assert population["collected"] is False and population["devices_without_serial"] > 0
    fresh(browser, path)
    shown = population_shown(browser)
    assert shown == {
        key: "not collected" if population[key] is None else f"{population[key]:,}"
        for key in POPULATION_COUNTS
    }
    assert shown["assigned"] == "not collected" and "0" not in shown.values()
    state = browser.find_element(By.CSS_SELECTOR, '[data-testid="population-state"]').text
    assert state.startswith("NOT COLLECTED")
    gaps = browser.find_elements(By.CSS_SELECTOR, '[data-testid="population-gaps"] li')
    assert [g.text for g in gaps] == population["gaps"] and len(gaps) == 2
    tokens = browser.find_element(By.CSS_SELECTOR, '[data-testid="population-tokens"]').text
    assert tokens == "Per ADE token: not collected."


def test_a_cut_device_list_hides_never_enrolled_and_a_token_name_stays_text(
    browser, cut_population
):
    path, population = cut_population
    assert population["collected"] and not population["complete"]
    assert population["never_enrolled"] is None and population["not_enrolled"] > 0
    assert population["managed_not_in_abm"] is None  # the serials were not collected whole
    fresh(browser, path)
    shown = population_shown(browser)
    assert shown.pop("never_enrolled") == "not shown"
    assert shown == {
        key: "not collected" if population[key] is None else f"{population[key]:,}"
        for key in POPULATION_COUNTS
        if key != "never_enrolled"
    }
    never = browser.find_element(By.XPATH, '//tr[.//*[@data-population="never_enrolled"]]').text
    assert "the device list is incomplete" in never
    state = browser.find_element(By.CSS_SELECTOR, '[data-testid="population-state"]').text
    assert state.startswith("PARTIAL")
    gaps = browser.find_elements(By.CSS_SELECTOR, '[data-testid="population-gaps"] li')
    assert [g.text for g in gaps] == population["gaps"] and len(gaps) == 2
    names = [row[0] for row in population_tokens(browser)]
    assert IMG in names and names == [t["token_name"] for t in population["tokens"]]
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script") == []
