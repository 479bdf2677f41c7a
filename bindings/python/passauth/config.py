"""Typed configuration: the JSON configuration of ``passauth_client_new`` and the device context of every
call, as ``TypedDict``s whose keys are exactly the header's, so that ``mypy --strict`` catches a typo::

    config: passauth.Config = {"serviceProvider": "REF30", "softwareStatement": "...",
                               "device": {"id": "living-room-box-42"}}

``Client`` also takes every key as a keyword argument, spelled in snake_case (``base_url=`` for
``"baseUrl"``); :data:`KEYWORDS` maps one to the other.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Mapping, TypedDict, Union

Environment = Literal["production", "staging", "prequal-production", "prequal-staging"]
LogLevel = Literal["none", "error", "warn", "info", "debug", "trace"]
Reregister = Literal["auto", "never"]


class DeviceInfo(TypedDict, total=False):
    """X-Device-Info fields (Adobe's appendix); sent base64-encoded JSON."""

    primaryHardwareType: str
    model: str
    version: str
    vendor: str
    manufacturer: str
    osName: str
    osFamily: str
    osVendor: str
    osVersion: str
    browserName: str
    browserVendor: str
    browserVersion: str
    userAgent: str
    displayWidth: int
    displayHeight: int
    displayPpi: int
    diagonalScreenSize: float
    connectionIp: str
    connectionPort: int
    connectionType: str
    connectionSecure: bool
    applicationId: str


class FrameworkError(TypedDict):
    """The ``error`` member of the partner framework's permission or provider info."""

    code: str
    message: str


class _FrameworkPermissionInfoRequired(TypedDict):
    accessStatus: Literal["granted", "denied", "restricted", "notDetermined"]


class FrameworkPermissionInfo(_FrameworkPermissionInfoRequired, total=False):
    """Whether the user granted the application access to their TV provider account."""

    error: FrameworkError


class FrameworkProviderInfo(TypedDict, total=False):
    """The TV provider the partner framework knows ("id" and "expirationDate" required when granted)."""

    id: str
    expirationDate: Union[str, int]
    error: FrameworkError


class PartnerFrameworkStatus(TypedDict):
    """Partner SSO (Apple) status, sent base64-encoded as AP-Partner-Framework-Status."""

    frameworkPermissionInfo: FrameworkPermissionInfo
    frameworkProviderInfo: FrameworkProviderInfo


class Device(TypedDict, total=False):
    """The streaming device a call acts for (every key optional).

    A device without ``id`` is a different device from the client's default one and has no state:
    calls that need a device id (sessions, profiles, polls, decisions, logout) then fail with
    :class:`passauth.InvalidArgumentError` naming ``device.id``."""

    id: str
    info: DeviceInfo
    ip: str
    port: int
    userAgent: str
    subjectToken: str
    rokuConnectToken: str
    serviceToken: str
    partnerFrameworkStatus: PartnerFrameworkStatus
    tempPassIdentity: Dict[str, str]
    visitorId: str


class _ConfigRequired(TypedDict):
    serviceProvider: str
    softwareStatement: str


class Config(_ConfigRequired, total=False):
    """The client configuration (``passauth_client_new`` in Include/passauth.h gives each key's range and default)."""

    environment: Environment
    baseUrl: str
    redirectUri: str
    store: str
    storeKeyPrefix: str
    storeEncryptionKey: str
    reregister: Reregister
    device: Device
    defaultDeviceInfo: bool
    strictDeviceInfo: bool
    timeoutMs: int
    connectTimeoutMs: int
    caFile: str
    proxy: str
    allowInsecureHttp: bool
    pacing: bool
    pacingRatePerSecond: float
    pacingBurst: int
    logLevel: LogLevel
    maxResponseBytes: int
    configurationCacheMs: int
    pollIntervalMs: int
    authorizeBatchSize: int
    preauthorizeBatchSize: int
    profileRefreshMs: int


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _config_keys() -> List[str]:
    keys: List[str] = []
    for cls in reversed(Config.__mro__):
        keys.extend(k for k in getattr(cls, "__annotations__", {}) if k not in keys)
    return keys


#: Client keyword argument -> configuration key (``base_url`` -> ``"baseUrl"``).
KEYWORDS: Dict[str, str] = {_snake(key): key for key in _config_keys()}


def merged(config: Union[Mapping[str, Any], None], keywords: Mapping[str, Any]) -> Dict[str, Any]:
    """``config`` with the keyword arguments that are not None laid over it."""
    result: Dict[str, Any] = dict(config or {})
    for name, value in keywords.items():
        if value is not None:
            result[KEYWORDS[name]] = value
    return result


__all__ = ["Config", "Device", "DeviceInfo", "PartnerFrameworkStatus", "FrameworkPermissionInfo",
           "FrameworkProviderInfo", "FrameworkError", "Environment", "LogLevel", "Reregister", "KEYWORDS"]
