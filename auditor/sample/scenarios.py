"""The Macs placed on purpose: one pass and one fail (or unknown) for every device rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.sample.catalog import ascii_fold
from auditor.sample.fleet import ADE, ADE_USERLESS, BYOD, COMPLIANCE, CORPORATE_BYOD, DEM, DIRECT

P, F, U, NA = "pass", "fail", "unknown", "not_applicable"
CORPORATE_PROFILE = "Corporate Mac – Modern Auth"
USERLESS_PROFILE = "Shared Mac – Userless"
ENGINEERING_PROFILE = "Engineering Macs"
LEGACY_PROFILE = "Fabrikam Macs (legacy)"
CORP, USERLESS = CORPORATE_PROFILE, USERLESS_PROFILE
DEM_LABS = "dem.labs@contoso.com"  # also used by generated DEM Macs
DEM_EVENTS = "dem.events@contoso.com"  # only the one Mac below
HOSTILE_HTML = "<script>alert(1)</script>"
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example","click")'


@dataclass(frozen=True, slots=True)
class Pinned:
    """One Mac placed on purpose, and the status it should get for the rules it exercises.

    `enrolled` is an ISO date or days before the as-of date; `synced` is days before the
    as-of date or "never" (Intune's 0001-01-01). `escrowed=None` leaves the Mac out of
    device_details.json (its single GET failed). `raw` overrides Graph fields after formatting.
    """

    key: str
    name: str
    user: tuple[str, str, str] | None  # display name, UPN, first name
    model: str
    os: str
    method: int
    profile: str | None = None
    dem: str | None = None
    enrolled: str | int = 400
    synced: float | str = 0.2
    approved: bool | None = True
    supervised: bool = True
    escrowed: bool | None = True
    encrypted: bool | None = True
    compliance: str = "compliant"
    registered: bool = True
    same_serial_as: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict)
    expect: Mapping[str, str] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        """BYOD Macs are personally owned; every other method enrolls corporate Macs."""
        return self.method == BYOD


def _u(display: str) -> tuple[str, str, str]:
    """A user by display name: `Zoë Laurent` → (`Zoë Laurent`, `zoe.laurent@contoso.com`, `Zoë`)."""
    first, last = display.split(" ")
    return (display, f"{ascii_fold(first).lower()}.{ascii_fold(last).lower()}@contoso.com", first)


_HEALTHY_ALL = {
    "MAC-ENR-001": P, "MAC-ENR-002": NA, "MAC-ENR-003": P, "MAC-ENR-004": P, "MAC-ENR-005": P,
    "MAC-ENR-006": P, "MAC-BST-001": P, "MAC-SWU-001": P, "MAC-KXT-001": P, "MAC-OS-001": P,
    "MAC-OS-002": P, "MAC-OS-003": P, "MAC-OS-004": P, "MAC-OS-005": P, "MAC-HW-001": P,
    "MAC-HW-002": P, "MAC-VM-001": NA, "MAC-VM-002": NA, "MAC-INV-001": P, "MAC-INV-002": P,
    "MAC-SYN-001": P, "MAC-SYN-002": P, "MAC-FV-001": P, "MAC-CMP-001": P, "MAC-ADE-002": P,
}  # fmt: skip
_NOT_ESCROWED = {"MAC-BST-001": F, "MAC-SWU-001": F, "MAC-KXT-001": P}
_OLD_BYOD = {
    "MAC-ENR-001": F,
    "MAC-ENR-002": F,
    "MAC-ENR-003": F,
    "MAC-ENR-004": NA,
    "MAC-BST-001": NA,
}
_DEM = {"MAC-ENR-004": F, "MAC-ENR-005": F, "MAC-ENR-006": F, "MAC-KXT-001": F, "MAC-SWU-001": P}
_TANAKA = ("田中 陽翔", "haruto.tanaka@contoso.com", "陽翔")  # no ASCII form of the name
_T26, _T15, _T14 = "26.6.2 (25G83)", "15.7.9 (24G830)", "14.8.9 (23J631)"

PINNED: tuple[Pinned, ...] = (
    Pinned("healthy-ade", "MBP-JSMITH-01", _u("John Smith"), "Mac15,6", _T26, ADE, CORP,
           enrolled="2024-01-15", expect=_HEALTHY_ALL),
    Pinned("intel-ade", "MBP-AKOWALSKI-01", _u("Anna Kowalski"), "MacBookPro16,1", _T26, ADE, CORP,
           enrolled="2021-03-02",
           expect={"MAC-HW-002": F, "MAC-HW-001": P, "MAC-KXT-001": NA, "MAC-SWU-001": NA}),
    Pinned("on-15-latest", "MBA-MGARRIDO-01", _u("Marta Garrido"), "Mac14,2", _T15, ADE, CORP,
           expect={"MAC-OS-005": F, "MAC-OS-003": P, "MAC-OS-004": P, "MAC-OS-002": P}),
    Pinned("on-14-latest", "MBP-PNGUYEN-01", _u("Phuong Nguyen"), "Mac14,9", _T14, ADE, CORP,
           expect={"MAC-OS-001": P, "MAC-OS-003": P, "MAC-OS-004": P, "MAC-OS-005": F}),
    Pinned("15.7.8", "MBA-TBROWN-01", _u("Tom Brown"), "Mac15,12", "15.7.8 (24G824)", ADE, CORP,
           expect={"MAC-OS-003": F, "MAC-OS-004": P}),
    Pinned("14.8.2", "MBP-LWEBB-01", _u("Lena Webb"), "Mac14,5", "14.8.2 (23J126)", ADE, CORP,
           expect={"MAC-OS-003": F, "MAC-OS-004": F}),
    Pinned("26.5", "MBA-SPATEL-01", _u("Sunil Patel"), "Mac16,12", "26.5 (25F71)", ADE, CORP,
           expect={"MAC-OS-003": F, "MAC-OS-004": F}),
    Pinned("26.6", "MBP-DMUELLER-01", _u("Dirk Mueller"), "Mac16,8", "26.6 (25G72)", ADE, CORP,
           expect={"MAC-OS-003": F, "MAC-OS-004": P}),
    Pinned("on-13", "MBP-RJONES-01", _u("Rhys Jones"), "MacBookPro14,1", "13.7.8 (22H730)", ADE,
           CORP, enrolled="2019-09-12",
           expect={"MAC-OS-001": F, "MAC-OS-002": F, "MAC-OS-003": NA, "MAC-OS-004": NA,
                   "MAC-OS-005": F, "MAC-HW-001": F, "MAC-HW-002": F}),
    Pinned("on-12", "LAB-IMAC-03", None, "iMac17,1", "12.7.6 (21H1320)", ADE_USERLESS, USERLESS,
           enrolled="2021-11-02", compliance="unknown", registered=False,
           expect={"MAC-OS-001": F, "MAC-OS-002": F, "MAC-HW-001": F, "MAC-ENR-006": F,
                   "MAC-CMP-001": NA}),
    Pinned("on-10.15", "WH-IMAC-01", _u("Greta Holm"), "iMac16,2", "10.15.7 (19H2026)", ADE, CORP,
           enrolled="2019-08-20",
           expect={"MAC-ENR-003": NA, "MAC-OS-001": F, "MAC-OS-002": F, "MAC-HW-001": F,
                   "MAC-BST-001": P}),
    Pinned("byod-2019-not-approved", "Zoë’s MacBook Pro", _u("Zoë Laurent"), "MacBookPro15,2",
           _T15, BYOD, enrolled="2019-03-18", approved=False, supervised=False, escrowed=False,
           expect={**_OLD_BYOD, "MAC-ENR-006": P, "MAC-HW-002": F}),
    Pinned("byod-2019b-not-approved", "Jürgen’s MacBook Air", _u("Jürgen Brandt"), "MacBookAir8,2",
           _T14, BYOD, enrolled="2019-11-05", approved=False, supervised=False, escrowed=False,
           expect=_OLD_BYOD),
    Pinned("byod-2020-not-approved", "Siobhán’s MacBook Pro", _u("Siobhán Farrell"),
           "MacBookPro16,1", _T26, BYOD, enrolled="2020-02-27", approved=False, supervised=False,
           escrowed=False, expect=_OLD_BYOD),
    Pinned("byod-2020-approved", "Ana’s MacBook Pro", _u("Ana Ruiz"), "MacBookPro16,1",
           "26.6.1 (25G76)", BYOD, enrolled="2020-04-14",
           expect={"MAC-ENR-001": P, "MAC-ENR-002": P, "MAC-ENR-003": P, "MAC-BST-001": P}),
    Pinned("byod-escrowed", "Priya’s MacBook Air", _u("Priya Raman"), "Mac15,12", _T26, BYOD,
           enrolled="2024-09-03",
           expect={"MAC-ENR-002": P, "MAC-SWU-001": P, "MAC-KXT-001": F, "MAC-BST-001": P,
                   "MAC-ADE-002": NA}),
    Pinned("byod-not-escrowed", "田中のMacBook Air", _TANAKA, "Mac16,12", _T26, BYOD,
           enrolled="2025-06-10", escrowed=False,
           expect={"MAC-BST-001": F, "MAC-SWU-001": F, "MAC-KXT-001": F}),
    *(
        Pinned(f"dem-labs-{i}", f"LAB-MINI-{i:02d}", None, "Mac16,10", _T26, DEM, dem=DEM_LABS,
               enrolled=f"2025-01-{19 + i}", compliance="unknown", registered=False,
               expect=_DEM if i == 1 else {"MAC-ENR-005": F})
        for i in range(1, 6)
    ),
    Pinned("dem-events", "EVENT-MBA-01", None, "Mac15,12", _T26, DEM, dem=DEM_EVENTS,
           enrolled="2025-05-06", compliance="unknown", registered=False,
           expect={"MAC-ENR-005": F, "MAC-ADE-002": F}),
    Pinned("direct", "CONF-MINI-02", None, "Macmini9,1", "26.6.1 (25G76)", DIRECT,
           enrolled="2022-02-14", compliance="unknown", registered=False,
           expect={"MAC-ENR-004": F, "MAC-ENR-006": F, "MAC-KXT-001": F, "MAC-SWU-001": P,
                   "MAC-ADE-002": F}),
    Pinned("ade-userless", "KIOSK-LOBBY-01", None, "Mac14,3", _T26, ADE_USERLESS, USERLESS,
           compliance="unknown", registered=False,
           expect={"MAC-ENR-004": P, "MAC-ENR-006": F, "MAC-CMP-001": NA, "MAC-BST-001": P}),
    Pinned("unencrypted-noncompliant", "MBP-KHAYASHI-01", _u("Kenta Hayashi"), "Mac15,3", _T26,
           ADE, CORP, encrypted=False, compliance="noncompliant",
           expect={"MAC-FV-001": F, "MAC-CMP-001": F}),
    Pinned("unencrypted-grace", "MBA-EROMANO-01", _u("Elisa Romano"), "Mac14,15", _T26, ADE, CORP,
           encrypted=False, compliance="inGracePeriod", expect={"MAC-FV-001": F, "MAC-CMP-001": F}),
    Pinned("noncompliant", "MBP-FSOUZA-01", _u("Felipe Souza"), "Mac16,1", _T26, ADE, CORP,
           compliance="noncompliant", expect={"MAC-CMP-001": F, "MAC-FV-001": P}),
    Pinned("conflict", "MBP-OADEBAYO-01", _u("Ola Adebayo"), "Mac15,6", _T26, ADE, CORP,
           compliance="conflict", expect={"MAC-CMP-001": F}),
    Pinned("error", "MBA-RIVANOV-01", _u("Roman Ivanov"), "Mac15,13", _T26, ADE, CORP,
           compliance="error", expect={"MAC-CMP-001": F}),
    Pinned("stale-40", "MBA-HKANG-01", _u("Hyejin Kang"), "Mac14,2", _T26, ADE, CORP, synced=40.3,
           compliance="noncompliant",
           expect={"MAC-SYN-001": F, "MAC-SYN-002": P, "MAC-CMP-001": F}),
    Pinned("stale-120", "MBP-CDUVAL-01", _u("Claire Duval"), "MacBookPro18,3", _T15, ADE, CORP,
           synced=120.4, compliance="noncompliant", expect={"MAC-SYN-001": F, "MAC-SYN-002": F}),
    Pinned("never-synced", "MBA-JLEE-01", _u("Jin Lee"), "Mac17,3", _T26, ADE, CORP, enrolled=1,
           synced="never", compliance="unknown", expect={"MAC-SYN-001": U, "MAC-SYN-002": U}),
    Pinned("not-escrowed-m4", "MBP-ANOVOTNY-01", _u("Aleš Novotný"), "Mac16,1", _T26, ADE, CORP,
           escrowed=False, expect=_NOT_ESCROWED),
    Pinned("not-escrowed-m2", "MBA-BOKAFOR-01", _u("Bola Okafor"), "Mac14,2", _T26, ADE, CORP,
           escrowed=False, expect=_NOT_ESCROWED),
    Pinned("not-escrowed-m1", "MBP-GHAGEN-01", _u("Gustav Hagen"), "MacBookPro18,3",
           "26.6.1 (25G76)", ADE, CORP, escrowed=False, expect=_NOT_ESCROWED),
    Pinned("duplicate-serial-old", "MBP-RCHO-01", _u("Ruth Cho"), "Mac14,9", _T15, ADE, CORP,
           enrolled="2023-02-01", synced=95.2, compliance="noncompliant",
           expect={"MAC-INV-001": F, "MAC-SYN-001": F, "MAC-SYN-002": F}),
    Pinned("duplicate-serial-new", "MBP-RCHO-01", _u("Ruth Cho"), "Mac14,9", _T26, ADE, CORP,
           enrolled=94, same_serial_as="duplicate-serial-old",
           expect={"MAC-INV-001": F, "MAC-SYN-001": P}),
    Pinned("vm-approved", "QA-VM-SONOMA-01", _u("Marek Dvořák"), "VirtualMac2,1", _T14,
           CORPORATE_BYOD, enrolled=200,
           expect={"MAC-VM-001": P, "MAC-VM-002": P, "MAC-ENR-004": F, "MAC-HW-002": NA,
                   "MAC-KXT-001": NA}),
    Pinned("vm-unapproved", "tart-sequoia-runner-02", _u("Kai Lindholm"), "VirtualMac2,1", _T15,
           BYOD, enrolled=35, expect={"MAC-VM-001": F, "MAC-VM-002": P}),
    Pinned("vm-vmware", "vmware-macos-build-01", _u("Marek Dvořák"), "VMware7,1", _T15,
           CORPORATE_BYOD, enrolled=120,
           expect={"MAC-VM-001": F, "MAC-VM-002": F, "MAC-ENR-004": F}),
    Pinned("no-serial-model", "Marcus’s Mac", _u("Marcus Lindberg"), "Mac17,3", _T26, BYOD,
           enrolled=2, synced=1.9, encrypted=None,
           raw={"serialNumber": "", "model": "", "manufacturer": "",
                "processorArchitecture": "unknown", "_product_name": None,
                "_user_approved": None},
           expect={"MAC-INV-002": F, "MAC-FV-001": U, "MAC-ENR-001": U, "MAC-ADE-002": U}),
    Pinned("hostile-html", HOSTILE_HTML, _u("Noor Haddad"), "Mac15,12", _T26, BYOD, enrolled=300),
    Pinned("hostile-formula", HOSTILE_FORMULA, _u("Eamon Walsh"), "Mac14,2", _T26, BYOD,
           enrolled=500),
    Pinned("os-without-build", "MBP-ICARVALHO-01", _u("Inês Carvalho"), "Mac15,6", "15.7.9", ADE,
           CORP, expect={"MAC-OS-003": P, "MAC-OS-004": P}),
    Pinned("marketing-model", "MBP-YCOHEN-01", _u("Yael Cohen"), "Mac15,6", _T26, ADE, CORP,
           raw={"model": "MacBook Pro (14-inch, M3 Pro, Nov 2023)"}),
    Pinned("profile-null-in-list", "MBA-VPETROV-01", _u("Vera Petrov"), "Mac14,2", _T26, ADE, CORP,
           raw={"enrollmentProfileName": None}, expect={"MAC-ENR-004": P}),
    Pinned("engineering-token", "MBP-ASAITO-01", _u("Akira Saito"), "Mac16,8", _T26, ADE,
           ENGINEERING_PROFILE, enrolled=150),
    Pinned("legacy-token", "FAB-MBP-0142", _u("Lukas Brenner"), "MacBookPro18,1", _T26, ADE,
           LEGACY_PROFILE, enrolled="2025-02-11"),
    Pinned("no-details", "MBA-WZHOU-01", _u("Wen Zhou"), "Mac15,13", _T26, ADE, CORP,
           escrowed=None, expect={"MAC-BST-001": U}),
    Pinned("azure-registered-null", "MBP-TBAKARE-01", _u("Tunde Bakare"), "Mac16,8", _T26, ADE,
           CORP, raw={"azureADRegistered": None}),
)  # fmt: skip

COMPLIANCE_CODE = {name: i for i, name in enumerate(COMPLIANCE)}
