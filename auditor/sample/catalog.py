"""Static facts the sample tenant draws from: Mac models, macOS releases, names."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

# Majors in release order; a release's `rank` indexes this tuple (never subtract majors).
MAJORS = ("10.15", "11", "12", "13", "14", "15", "26")


@dataclass(frozen=True, slots=True)
class MacModel:
    """A Mac model as Intune reports it, with what the generator needs to fake one."""

    identifier: str  # hardwareInformation.productName, e.g. MacBookPro18,3
    model: str  # managedDevice.model as Intune shows it ("MacBook Pro")
    marketing: str  # Apple's marketing name (SOFA v1 `Models`)
    chip: str  # apple_silicon | intel | virtual
    released: dt.date
    min_rank: int  # oldest major it shipped with, as an index into MAJORS
    max_rank: int  # newest major it can run
    ecid_chip: str  # Apple silicon UDID prefix (chip id); "" → UUID-style UDID
    weight: float  # share in generated fleets; 0 = only placed on purpose
    prefix: str  # device-name prefix in the corporate naming scheme


def _m(
    identifier: str,
    model: str,
    marketing: str,
    chip: str,
    released: str,
    ranks: tuple[int, int],
    ecid: str,
    weight: float,
    prefix: str,
) -> MacModel:
    return MacModel(
        identifier,
        model,
        marketing,
        chip,
        dt.date.fromisoformat(released),
        *ranks,
        ecid,
        weight,
        prefix,
    )


AS, IN, VM = "apple_silicon", "intel", "virtual"
MBP, MBA = "MacBook Pro", "MacBook Air"

# Identifiers, marketing names and supported majors from the SOFA v1 feed `Models`
# (macadmins/sofa, captured 2026-08-22); chip from the identifier pattern (macos.md §3.1).
MODELS: tuple[MacModel, ...] = (
    _m("MacBookAir10,1", MBA, "MacBook Air (M1, 2020)", AS, "2020-11-17", (2, 6), "8103", 8, "MBA"),
    _m("MacBookPro17,1", MBP, "MacBook Pro (13-inch, M1, 2020)", AS, "2020-11-17", (2, 6), "8103",
       3, "MBP"),
    _m("MacBookPro18,1", MBP, "MacBook Pro (16-inch, M1 Pro, 2021)", AS, "2021-10-26", (2, 6),
       "6000", 3, "MBP"),
    _m("MacBookPro18,3", MBP, "MacBook Pro (14-inch, M1 Pro, 2021)", AS, "2021-10-26", (2, 6),
       "6000", 6, "MBP"),
    _m("MacBookPro18,4", MBP, "MacBook Pro (14-inch, M1 Max, 2021)", AS, "2021-10-26", (2, 6),
       "6001", 1.5, "MBP"),
    _m("Macmini9,1", "Mac mini", "Mac mini (M1, Late 2020)", AS, "2020-11-17", (2, 6), "8103", 1.5,
       "MINI"),
    _m("iMac21,1", "iMac", "iMac (24-inch, M1, 2021, Four Ports)", AS, "2021-05-21", (2, 6), "8103",
       1.5, "IMAC"),
    _m("Mac13,1", "Mac Studio", "Mac Studio (M1 Max)", AS, "2022-03-18", (2, 6), "6001", 0.7,
       "STUDIO"),
    _m("Mac14,2", MBA, "MacBook Air (M2, 2022)", AS, "2022-07-15", (2, 6), "8112", 8, "MBA"),
    _m("Mac14,7", MBP, "MacBook Pro (13-inch, M2, 2022)", AS, "2022-06-24", (2, 6), "8112", 2,
       "MBP"),
    _m("Mac14,9", MBP, "MacBook Pro (14-inch, M2 Pro, 2023)", AS, "2023-01-24", (3, 6), "6020", 4,
       "MBP"),
    _m("Mac14,5", MBP, "MacBook Pro (14-inch, M2 Max, 2023)", AS, "2023-01-24", (3, 6), "6021",
       1.5, "MBP"),
    _m("Mac14,10", MBP, "MacBook Pro (16-inch, M2 Pro, 2023)", AS, "2023-01-24", (3, 6), "6020",
       1.5, "MBP"),
    _m("Mac14,15", MBA, "MacBook Air (15-inch, M2, 2023)", AS, "2023-06-13", (3, 6), "8112", 3,
       "MBA"),
    _m("Mac14,3", "Mac mini", "Mac mini (M2, 2023)", AS, "2023-01-24", (3, 6), "8112", 1, "MINI"),
    _m("Mac15,3", MBP, "MacBook Pro (14-inch, M3, Nov 2023)", AS, "2023-11-07", (3, 6), "8122", 3,
       "MBP"),
    _m("Mac15,6", MBP, "MacBook Pro (14-inch, M3 Pro, Nov 2023)", AS, "2023-11-07", (4, 6), "6030",
       4, "MBP"),
    _m("Mac15,12", MBA, "MacBook Air (13-inch, M3, 2024)", AS, "2024-03-08", (4, 6), "8122", 7,
       "MBA"),
    _m("Mac15,13", MBA, "MacBook Air (15-inch, M3, 2024)", AS, "2024-03-08", (4, 6), "8122", 2,
       "MBA"),
    _m("Mac15,4", "iMac", "iMac (24-inch, M3, 2023, Two Ports)", AS, "2023-11-07", (3, 6), "8122",
       0.7, "IMAC"),
    _m("Mac16,1", MBP, "MacBook Pro (14-inch, M4, Nov 2024)", AS, "2024-11-08", (5, 6), "8132", 3,
       "MBP"),
    _m("Mac16,8", MBP, "MacBook Pro (14-inch, M4 Pro, Nov 2024)", AS, "2024-11-08", (5, 6), "6040",
       4, "MBP"),
    _m("Mac16,12", MBA, "MacBook Air (13-inch, M4, 2025)", AS, "2025-03-12", (5, 6), "8132", 7,
       "MBA"),
    _m("Mac16,13", MBA, "MacBook Air (15-inch, M4, 2025)", AS, "2025-03-12", (5, 6), "8132", 2,
       "MBA"),
    _m("Mac16,10", "Mac mini", "Mac mini (M4, 2024)", AS, "2024-11-08", (5, 6), "8132", 1.5,
       "MINI"),
    _m("Mac16,9", "Mac Studio", "Mac Studio (M4 Max, 2025)", AS, "2025-03-12", (5, 6), "6041", 0.4,
       "STUDIO"),
    _m("Mac17,2", MBP, "MacBook Pro 14-inch (M5)", AS, "2025-10-22", (6, 6), "8142", 2, "MBP"),
    _m("Mac17,3", MBA, "MacBook Air (13-inch, M5)", AS, "2026-03-11", (6, 6), "8142", 1.5, "MBA"),
    _m("MacBookPro16,1", MBP, "MacBook Pro (16-inch, 2019)", IN, "2019-11-13", (0, 6), "", 2.5,
       "MBP"),
    _m("MacBookPro16,2", MBP, "MacBook Pro (13-inch, 2020, Four Thunderbolt 3 ports)", IN,
       "2020-05-04", (0, 6), "", 1.5, "MBP"),
    _m("MacBookPro15,2", MBP, "MacBook Pro (13-inch, 2019, Four Thunderbolt 3 ports)", IN,
       "2018-07-12", (0, 5), "", 1, "MBP"),
    _m("iMac20,1", "iMac", "iMac (Retina 5K, 27-inch, 2020)", IN, "2020-08-04", (0, 6), "", 1,
       "IMAC"),
    _m("Macmini8,1", "Mac mini", "Mac mini (2018)", IN, "2018-10-30", (0, 5), "", 0.7, "MINI"),
    _m("MacBookAir8,2", MBA, "MacBook Air (Retina, 13-inch, 2019)", IN, "2019-07-09", (0, 4), "",
       0.4, "MBA"),
    # placed on purpose only (weight 0): unsupported hardware and virtual machines
    _m("MacBookPro14,1", MBP, "MacBook Pro (13-inch, 2017, Two Thunderbolt 3 ports)", IN,
       "2017-06-05", (0, 3), "", 0, "MBP"),
    _m("iMac17,1", "iMac", "iMac (Retina 5K, 27-inch, Late 2015)", IN, "2015-10-13", (0, 2), "", 0,
       "IMAC"),
    _m("iMac16,2", "iMac", "iMac (Retina 4K, 21.5-inch, Late 2015)", IN, "2015-10-13", (0, 2), "",
       0, "IMAC"),
    _m("VirtualMac2,1", "Apple Virtual Machine 1", "Apple Virtual Machine", VM, "2020-11-12",
       (1, 6), "", 0, "VM"),
    _m("VMware7,1", "VMware7,1", "VMware Virtual Platform", VM, "2018-06-01", (0, 6), "", 0, "VM"),
)  # fmt: skip
MODEL_INDEX = {m.identifier: i for i, m in enumerate(MODELS)}


@dataclass(frozen=True, slots=True)
class MacRelease:
    """A macOS release as `osVersion` reports it, with its SOFA build and date."""

    version: str
    build: str | None
    released: dt.date
    rank: int  # index into MAJORS
    weight: float  # share in generated fleets; 0 = only placed on purpose

    @property
    def os_version(self) -> str:
        """The `osVersion` string Intune shows for a Mac: `14.8.9 (23J631)`."""
        return f"{self.version} ({self.build})" if self.build else self.version


def _r(version: str, build: str | None, released: str, weight: float) -> MacRelease:
    major = version.split(".")[0]
    label = "10.15" if major == "10" else major
    return MacRelease(version, build, dt.date.fromisoformat(released), MAJORS.index(label), weight)


# Versions, builds and dates from the SOFA feed (InstallationApps builds, SecurityReleases dates).
RELEASES: tuple[MacRelease, ...] = (
    _r("26.6.2", "25G83", "2026-08-17", 48),
    _r("26.6.1", "25G76", "2026-08-06", 12),
    _r("26.6", "25G72", "2026-07-27", 5),
    _r("26.5.2", "25F84", "2026-06-29", 2.5),
    _r("26.5.1", "25F80", "2026-06-01", 1),
    _r("26.5", "25F71", "2026-05-11", 1),
    _r("26.4.1", "25E253", "2026-04-09", 0.6),
    _r("15.7.9", "24G830", "2026-08-06", 13),
    _r("15.7.8", "24G824", "2026-07-27", 4),
    _r("15.7.7", "24G720", "2026-05-11", 1),
    _r("15.7.5", "24G624", "2026-03-24", 0.5),
    _r("14.8.9", "23J631", "2026-08-06", 5),
    _r("14.8.8", "23J620", "2026-07-27", 1.5),
    _r("14.8.7", "23J520", "2026-05-11", 0.5),
    _r("14.8.2", "23J126", "2025-11-03", 0.3),
    # placed on purpose only
    _r("13.7.8", "22H730", "2025-08-20", 0),
    _r("12.7.6", "21H1320", "2024-07-29", 0),
    _r("10.15.7", "19H2026", "2022-07-20", 0),  # Catalina 10.15.7 + Security Update 2022-005
    _r("15.7.9", None, "2026-08-06", 0),  # the same release reported without its build
)
RELEASE_INDEX = {r.os_version: i for i, r in enumerate(RELEASES)}

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
    "Harper", "Mateo", "Evelyn", "Levi", "Aria", "Ethan", "Chloe", "Aiden", "Nora", "Samuel",
    "Zoë", "José", "François", "Łukasz", "Siobhán", "Bjørn", "Aoife", "Søren", "Renée", "Björn",
    "Hannah", "Daniel", "Grace", "David", "Layla", "Joseph", "Riley", "Carter", "Zara", "Owen",
    "Fatima", "Omar", "Aisha", "Yusuf", "Priyanka", "Arjun", "Mei", "Wei", "Hiroshi", "Yuki",
    "Chidi", "Amara", "Kwame", "Nia", "Sven", "Ingrid", "Matteo", "Giulia", "Lars", "Freya",
    "Diego", "Camila", "Rafael", "Lucía", "Tomás", "Inés", "Dmitri", "Anastasia", "Kenji", "Sakura",
)  # fmt: skip
LAST_NAMES = (
    "Anderson", "Baker", "Campbell", "Davies", "Evans", "Fischer", "Gonzalez", "Hughes",
    "Ibrahim", "Jensen", "Khan", "Lopez", "Martin", "Nakamura", "O’Brien", "Parker", "Quinn",
    "Roberts", "Schneider", "Thompson", "Usman", "Vargas", "Walker", "Xu", "Young", "Zimmermann",
    "Müller", "García", "Núñez", "Østergaard", "Kowalczyk", "Šimić", "Lindqvist", "Moreau",
    "Bianchi", "Santos", "Yilmaz", "Novak", "Horvath", "Eriksen", "Murphy", "Kelly", "Singh",
    "Sharma", "Chen", "Wang", "Li", "Zhang", "Liu", "Yamamoto", "Sato", "Kim", "Park", "Choi",
    "Adeyemi", "Okonkwo", "Mensah", "Dubois", "Lefèvre", "Rossi", "Ferrari", "Costa", "Silva",
    "Pereira", "Ivanova", "Smirnov", "Nowak", "Wójcik", "Hansen", "Larsen", "Berg", "Svensson",
    "Nielsen", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein",
)  # fmt: skip

_FOLD = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "’": "", "'": ""}
)


def ascii_fold(text: str) -> str:
    """`Łukasz O’Brien` → `Lukasz OBrien`: the ASCII form used in UPNs and device names."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii")
