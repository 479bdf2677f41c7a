"""The emulated integrations: service providers and their MVPDs.

Names come from the reference samples (REF30, Cablevision, TempPass_TEST40,
flexibleTempPass, AdobePass_SMI, AdobeShibboleth, Dish ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

NO_LOGO = "https://entitlement.auth.adobe.com/entitlement/noLogo.png"


@dataclass(frozen=True)
class Mvpd:
    id: str
    display_name: str
    temp_pass: bool = False
    promotional: bool = False      # flexible TempPass: needs AP-TempPass-Identity
    has_logout: bool = True        # False: logout answers actionName "complete"
    apple_sso: bool = False        # onboarded for Apple partner SSO
    logo_url: str = NO_LOGO

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "logoUrl": self.logo_url,
            "isTempPass": self.temp_pass,
            "isProxy": False,
            "boardingStatus": "SUPPORTED" if self.apple_sso else "NOT_SUPPORTED",
            "platformMappingId": self.id,
            "enablePlatformServices": self.apple_sso,
            "displayInPlatformPicker": self.apple_sso,
            "enforcePlatformPermissions": self.apple_sso,
        }


MVPDS = {m.id: m for m in (
    Mvpd("Cablevision", "Optimum", apple_sso=True,
         logo_url="https://entitlement.auth.adobe.com/entitlement/cablevision.png"),
    Mvpd("Spectrum", "Spectrum", apple_sso=True),
    Mvpd("Dish", "DISH", has_logout=False),
    Mvpd("ATTOTT", "DIRECTV STREAM"),
    Mvpd("AdobePass_SMI", "Adobe Pass SMI"),
    Mvpd("AdobeShibboleth", "AdobeShibboleth"),
    Mvpd("apassidp", "Adobe Pass Test IdP"),
    Mvpd("TempPass_TEST40", "Adobe Temp Pass Test 3 min", temp_pass=True),
    Mvpd("flexibleTempPass", "Flexible Temp Pass", temp_pass=True, promotional=True),
)}

DOMAINS = ["adobe.com", "adobe.io", "adobepass.com", "testadobe.com"]


def configuration(service_provider: str) -> Dict[str, Any]:
    """Body of the configuration endpoint, in the shape of its sample."""
    return {
        "device": "unknown",
        "clientType": "html5",
        "os": "Unknown",
        "requestor": {
            "id": service_provider,
            "name": f"Emulated service provider {service_provider}",
            "domains": [{"name": d, "mvpdInitiated": False} for d in DOMAINS],
            "mvpds": [m.to_json() for m in MVPDS.values()],
        },
    }


def mvpd_for_platform_mapping(mapping_id: Any) -> Optional[Mvpd]:
    return next((m for m in MVPDS.values() if m.id == mapping_id), None)
