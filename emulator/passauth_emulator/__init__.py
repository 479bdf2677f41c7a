"""Local emulator of Adobe Pass Authentication (REST API V2 + DCR).

Standard library only; see README.md in this directory.
"""

from .runtime import ControlCallError, Emulator

__all__ = ["Emulator", "ControlCallError"]
