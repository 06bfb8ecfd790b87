"""Each Mac's page in the Intune admin center, by its Intune device id and the Graph cloud."""

from __future__ import annotations

import re
from urllib.parse import quote

import numpy as np
import pandas as pd

# Admin-center host per Graph cloud (config `graph.cloud`). Source: Maester's
# Get-MtAdminPortalUrl (maester365/maester, powershell/public/core/Get-MtAdminPortalUrl.ps1):
# intune.microsoft.com (global), intune.microsoft.us (USGov and USGovDoD), intune.microsoft.cn
# (China, operated by 21Vianet).
ADMIN_CENTER_HOSTS = {
    "global": "https://intune.microsoft.com",
    "usgov": "https://intune.microsoft.us",
    "usgov-dod": "https://intune.microsoft.us",
    "china": "https://intune.microsoft.cn",
}
# A Mac's page (Devices > All devices > the Mac) by its Intune (managedDevice) id, optionally
# in a named tenant. Source: CIPP's "View in Intune" action (KelvinTegelaar/CIPP,
# src/pages/endpoint/MEM/devices/index.js): https://intune.microsoft.com/{tenant}/#view/
# Microsoft_Intune_Devices/DeviceSettingsMenuBlade/~/overview/mdmDeviceId/{id}.
DEVICE_PAGE = "#view/Microsoft_Intune_Devices/DeviceSettingsMenuBlade/~/overview/mdmDeviceId/"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UNRESERVED = r"[A-Za-z0-9_.~-]+"  # the characters urllib's quote() never escapes
NO_INTUNE_ID = "serial:"  # normalize's device_id when no input carried an Intune id


def device_links(device_ids: pd.Series, cloud: str, tenant_id: str | None) -> pd.Series:
    """Each Mac's page in the Intune admin center; NA when it has no Intune device id."""
    host = ADMIN_CENTER_HOSTS.get(cloud, ADMIN_CENTER_HOSTS["global"])
    tenant = f"/{tenant_id}" if tenant_id and _GUID.match(tenant_id) else ""
    base = f"{host}{tenant}/{DEVICE_PAGE}"
    ids = device_ids.astype("string")
    plain = ids.str.fullmatch(_UNRESERVED).fillna(False).to_numpy(dtype=bool)
    joined = (base + ids).rename("link")  # quote() leaves plain ids (GUIDs) as they are
    rest = ~plain & ids.notna().to_numpy(dtype=bool)
    if not rest.any():  # every id plain or missing (NA + text is NA): no second copy
        return joined
    links = np.array(joined.astype(object).where(plain, None), dtype=object)
    links[rest] = [
        None if v.startswith(NO_INTUNE_ID) or not v else base + quote(v, safe="")
        for v in ids[rest].array
    ]
    return pd.Series(pd.array(links, dtype="string"), index=device_ids.index, name="link")
