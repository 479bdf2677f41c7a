"""Base64 decoding shared by the state and the request checks (imports nothing from the package)."""

from __future__ import annotations

import base64
import binascii
from typing import Optional


def b64decode(value: str) -> Optional[bytes]:
    """Standard or URL-safe base64, padding optional; None when invalid."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
