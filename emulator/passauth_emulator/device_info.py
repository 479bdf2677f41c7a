"""X-Device-Info checks against the header's appendix page
(rest-apis/rest-api-v2/appendix/headers/rest-api-v2-appendix-headers-x-device-info.md).

The pages say the service merges what the header gives with values it extracts itself, and falls
back to those when the header is missing, so findings never reject a request: they are warnings,
recorded on the request's entry in the request log (``GET /_emulator/requests``).  A value that is
not base64 at all is the one case the service answers with an error (``invalid_header_device_info``,
see validation.device_info); it is also recorded here.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from .messages import Request
from .validation import b64decode

Finding = Dict[str, Any]
HEADER = "X-Device-Info"

# "Presence: required" in the Directives table.
REQUIRED = ("model", "version", "osName", "osVersion", "connectionType")

# "Restricted" keys and their listed values.
LISTED: Dict[str, Tuple[Any, ...]] = {
    "primaryHardwareType": (
        "Camera", "DataCollectionTerminal", "Desktop", "EmbeddedNetworkModule", "eReader", "GamesConsole",
        "GeolocationTracker", "Glasses", "MediaPlayer", "MobilePhone", "PaymentTerminal", "PluginModem",
        "SetTopBox", "TV", "Tablet", "WirelessHotspot", "Wristwatch", "Unknown"),
    "osName": ("Android", "Chrome OS", "Linux", "Mac OS", "OS X", "OpenBSD", "Roku OS", "Windows", "iOS",
               "tvOS", "webOS"),
    "osFamily": ("Android", "BSD", "Linux", "PlayStation OS", "Roku OS", "Symbian", "Tizen", "Windows", "iOS",
                 "tvOS", "macOS", "webOS"),
    "osVendor": ("Amazon", "Apple", "Google", "LG", "Microsoft", "Mozilla", "Nintendo", "Nokia", "Roku",
                 "Samsung", "Sony", "Tizen Project"),
    "browserName": ("Android Browser", "Chrome", "Edge", "Firefox", "Internet Explorer", "Opera", "Safari",
                    "SeaMonkey", "Symbian Browser"),
    "browserVendor": ("Amazon", "Apple", "Google", "Microsoft", "Motorola", "Mozilla", "Netscape", "Nintendo",
                      "Nokia", "Samsung", "Sony Ericsson"),
    "connectionSecure": (True, False),
}

STRINGS = ("primaryHardwareType", "model", "version", "manufacturer", "vendor", "osName", "osFamily", "osVendor",
           "osVersion", "browserName", "browserVendor", "browserVersion", "userAgent", "connectionIp",
           "connectionType", "applicationId")
NUMBERS = ("displayWidth", "displayHeight", "displayPpi", "diagonalScreenSize")
KNOWN = set(STRINGS) | set(NUMBERS) | {"connectionPort", "connectionSecure"}

# Endpoints whose reference page lists the header (required everywhere but configuration, where it
# is optional and "strongly recommended"; the OpenAPI file agrees): a request without it is warned.
LISTS_HEADER = {"register", "token", "configuration", "sessions.create", "sessions.sso", "profiles",
                "profiles.mvpd", "profiles.sso", "decisions.authorize", "decisions.preauthorize", "logout"}
# The calls made with a code (a second screen may make them) do not list it; when sent anyway its
# content is still checked. The user agent's authenticate page is not checked at all.
CHECKED_ENDPOINTS = LISTS_HEADER | {"sessions.resume", "sessions.get", "profiles.code"}


def warning(problem: str, message: str, field: Optional[str] = None, header: str = HEADER) -> Finding:
    return {"header": header, "field": field, "problem": problem, "message": message}


def check(request: Request, endpoint: str) -> List[Finding]:
    """The warnings for one service request (empty when everything is as documented)."""
    if endpoint not in CHECKED_ENDPOINTS:
        return []
    value = request.header("x-device-info")
    forwarded = (request.header("x-forwarded-for") or "").split(",")[0].strip()
    if value is None:
        if endpoint not in LISTS_HEADER:
            return []
        found = [warning("missing", "X-Device-Info is missing: the checklist asks for it on every request "
                                    "(the service falls back to values it extracts, and may treat the "
                                    "platform as unknown)")]
        if forwarded:
            found += connection_warnings({}, forwarded)
        return found
    raw = b64decode(value)
    if raw is None:
        return [warning("not-base64", "X-Device-Info is not base64 (answered invalid_header_device_info)")]
    try:
        document = json.loads(raw)
    except ValueError:
        return [warning("not-json", "X-Device-Info does not decode to JSON")]
    if not isinstance(document, dict):
        return [warning("not-object", "X-Device-Info does not decode to a JSON object")]
    return fields(document) + (connection_warnings(document, forwarded) if forwarded else [])


def fields(document: Dict[str, Any]) -> List[Finding]:
    found = [warning("required-missing", f"required field {name!r} is missing", name)
             for name in REQUIRED if name not in document]
    for name, value in document.items():
        if name not in KNOWN:
            found.append(warning("unknown-field", f"field {name!r} is not in the header's table", name))
        elif name in STRINGS and not isinstance(value, str):
            found.append(warning("wrong-type", f"{name!r} must be a string, got {json.dumps(value)}", name))
        elif name in NUMBERS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            found.append(warning("wrong-type", f"{name!r} must be a number, got {json.dumps(value)}", name))
        elif name == "connectionPort" and not port(value):
            found.append(warning("wrong-type", f"'connectionPort' must be a port number, got {json.dumps(value)}",
                                 name))
        elif name == "connectionSecure" and not isinstance(value, bool):
            found.append(warning("wrong-type", f"'connectionSecure' must be true or false, got {json.dumps(value)}",
                                 name))
        elif name in LISTED and value not in LISTED[name]:
            found.append(warning("not-listed", f"{name!r} value {json.dumps(value)} is not one of the listed "
                                               f"values", name))
    return found


def port(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and 0 < value < 65536


def connection_warnings(document: Dict[str, Any], forwarded: str) -> List[Finding]:
    """A server acting for a device (X-Forwarded-For) must also say where the device connects from:
    home-based authentication needs connectionIp and connectionPort (FAQ headers 3, checklist)."""
    found = [warning("connection-missing", f"X-Forwarded-For is sent but X-Device-Info has no {name!r} "
                                           f"(home-based authentication needs it)", name)
             for name in ("connectionIp", "connectionPort") if name not in document]
    ip = document.get("connectionIp")
    if isinstance(ip, str) and ip != forwarded:
        found.append(warning("connection-mismatch", f"'connectionIp' {ip!r} differs from the X-Forwarded-For "
                                                    f"address {forwarded!r}", "connectionIp"))
    return found
