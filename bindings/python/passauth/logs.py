"""The library's log lines, routed to the standard :mod:`logging` module (logger ``passauth``).

Every :class:`passauth.Client` hands the library a callback (``passauth_set_log_callback``) that logs
each line on the ``passauth`` logger at the matching level: error -> ERROR, warn -> WARNING,
info -> INFO, debug -> DEBUG, trace -> TRACE (5). Lines are already redacted by the library (never a
secret, never a header value or body). Without an explicit ``logLevel`` in the configuration, the
client asks the library for what the ``passauth`` logger lets through when the client is created (the
default WARNING gives the library's default, ``warn``).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from . import _native

#: The level of the library's ``trace`` lines (below DEBUG).
TRACE = 5
if logging.getLevelName(TRACE) == f"Level {TRACE}":
    logging.addLevelName(TRACE, "TRACE")

logger = logging.getLogger("passauth")

_LEVELS: Dict[int, int] = {
    _native.PASSAUTH_LOG_ERROR: logging.ERROR,
    _native.PASSAUTH_LOG_WARN: logging.WARNING,
    _native.PASSAUTH_LOG_INFO: logging.INFO,
    _native.PASSAUTH_LOG_DEBUG: logging.DEBUG,
    _native.PASSAUTH_LOG_TRACE: TRACE,
}


def library_level(python_level: Optional[int] = None) -> str:
    """The config ``logLevel`` that lets through what a Python level does (default: the ``passauth``
    logger's effective level)."""
    level = logger.getEffectiveLevel() if python_level is None else python_level
    if level <= TRACE:
        return "trace"
    if level <= logging.DEBUG:
        return "debug"
    if level <= logging.INFO:
        return "info"
    if level <= logging.WARNING:
        return "warn"
    if level <= logging.ERROR:
        return "error"
    return "none"


def _forward(_user_data: Optional[int], level: int, message: Optional[bytes]) -> None:
    # Runs on whatever thread logs (the caller's, or a library thread): nothing may escape into C.
    try:
        python_level = _LEVELS.get(level, logging.INFO)
        if logger.isEnabledFor(python_level):
            logger.log(python_level, (message or b"").decode("utf-8", "replace"))
    except KeyboardInterrupt:
        import _thread

        _thread.interrupt_main()  # hand Ctrl-C back to the main thread
    except BaseException:
        pass


#: The one ctypes callback object every client uses; a module global, so it lives as long as any client.
CALLBACK: Any = _native.LOG_CALLBACK(_forward)
