"""Low-level ctypes bindings: a one-to-one mirror of Include/passauth.h.

Every function of the header appears in ``FUNCTIONS`` (header order) with its result and argument
types; every constant (statuses, log levels, version macros) and every struct has its counterpart here
under the header's own name (structs and opaque types in CamelCase: ``passauth_error`` is
:class:`PassauthError`; callback typedefs ``passauth_X_callback`` are ``X_CALLBACK``).
``tests/abi/check_python_mirror.py`` compares this module with the header and the library's exports.

Type conventions (the checker's mapping): ``const char *`` inputs are ``c_char_p``; ``char **``
out-parameters are ``POINTER(c_void_p)``, so that the address of the string the library allocated
survives and can be handed to ``passauth_free`` (``take_bytes`` does both); opaque handles are typed
pointers (``POINTER(PassauthClient)``). Users normally use :class:`passauth.Client` instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import threading
from typing import Any, Dict, List, Optional, Tuple

c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_size_t = ctypes.c_size_t
c_longlong = ctypes.c_longlong
c_void_p = ctypes.c_void_p


class PassauthClient(ctypes.Structure):
    """``passauth_client`` (opaque)."""


class PassauthPoll(ctypes.Structure):
    """``passauth_poll`` (opaque)."""


c_char_p_p = ctypes.POINTER(ctypes.c_void_p)  # char ** out-parameters (library-allocated strings)
client_p = ctypes.POINTER(PassauthClient)  # passauth_client *
client_p_p = ctypes.POINTER(client_p)  # passauth_client **
poll_p = ctypes.POINTER(PassauthPoll)  # passauth_poll *
poll_p_p = ctypes.POINTER(poll_p)  # passauth_poll **
int_p = ctypes.POINTER(ctypes.c_int)  # int * out-parameters
longlong_p = ctypes.POINTER(ctypes.c_longlong)  # long long * out-parameters
size_t_p = ctypes.POINTER(ctypes.c_size_t)  # size_t * out-parameters
double_p = ctypes.POINTER(ctypes.c_double)  # double * out-parameters
# typedef void (*passauth_poll_callback)(void *user_data, int status, const char *result_json);
POLL_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
# typedef void (*passauth_log_callback)(void *user_data, int level, const char *message);
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)

# struct passauth_store (version 1): the application's versioned key-value store callbacks.
PASSAUTH_STORE_VERSION = 1
PASSAUTH_STORE_CONFLICT = 1
STORE_GET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(ctypes.c_ulonglong))
STORE_PUT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
                             ctypes.c_longlong, ctypes.POINTER(ctypes.c_ulonglong))
STORE_LOCK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p))
STORE_UNLOCK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)


class PassauthStore(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("user_data", ctypes.c_void_p), ("get", STORE_GET), ("put", STORE_PUT),
                ("lock", STORE_LOCK), ("unlock", STORE_UNLOCK)]


class PassauthError(ctypes.Structure):
    """``struct passauth_error``: the calling thread's last failure (``passauth_error_last()``).

    ``c_char_p`` members read as ``bytes`` or None; ``http_status`` is 0 and ``retry_after_ms`` -1
    when they do not apply."""

    _fields_ = [
        ("status", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("message", ctypes.c_char_p),
        ("code", ctypes.c_char_p),
        ("action", ctypes.c_char_p),
        ("endpoint", ctypes.c_char_p),
        ("key", ctypes.c_char_p),
        ("details", ctypes.c_char_p),
        ("help_url", ctypes.c_char_p),
        ("trace", ctypes.c_char_p),
        ("body", ctypes.c_char_p),
        ("http_status", ctypes.c_int),
        ("retry_after_ms", ctypes.c_longlong),
        ("json", ctypes.c_char_p),
    ]


error_p = ctypes.POINTER(PassauthError)  # const passauth_error *

# Versions (the header this module mirrors; passauth_version_number() is the loaded library's).
PASSAUTH_VERSION_MAJOR = 0
PASSAUTH_VERSION_MINOR = 2
PASSAUTH_VERSION_PATCH = 0
PASSAUTH_VERSION_STRING = "0.2.0"
PASSAUTH_VERSION_NUMBER = 2000

# Status codes (enum passauth_status).
PASSAUTH_PENDING = 1
PASSAUTH_OK = 0
PASSAUTH_E_INVALID_ARGUMENT = -1
PASSAUTH_E_TRANSPORT = -2
PASSAUTH_E_TIMEOUT = -3
PASSAUTH_E_HTTP = -4
PASSAUTH_E_SERVICE = -5
PASSAUTH_E_UNAUTHORIZED = -6
PASSAUTH_E_THROTTLED = -7
PASSAUTH_E_PROTOCOL = -8
PASSAUTH_E_EXPIRED = -9
PASSAUTH_E_CANCELLED = -10
PASSAUTH_E_REGISTRATION = -11
PASSAUTH_E_STORE = -12
PASSAUTH_E_INTERNAL = -13
PASSAUTH_E_NOT_FOUND = -14

# Log levels (enum passauth_log_level), most severe first.
PASSAUTH_LOG_ERROR = 1
PASSAUTH_LOG_WARN = 2
PASSAUTH_LOG_INFO = 3
PASSAUTH_LOG_DEBUG = 4
PASSAUTH_LOG_TRACE = 5

# name -> (restype, argtypes), in header order.
FUNCTIONS: Dict[str, Tuple[Any, List[Any]]] = {
    "passauth_version": (c_char_p, []),
    "passauth_version_number": (c_int, []),
    "passauth_status_name": (c_char_p, [c_int]),
    "passauth_error_last": (error_p, []),
    "passauth_last_error": (c_char_p, []),
    "passauth_free": (None, [c_void_p]),
    "passauth_json_get_string": (c_int, [c_char_p, c_char_p, c_char_p_p]),
    "passauth_json_get_bool": (c_int, [c_char_p, c_char_p, int_p]),
    "passauth_json_get_int64": (c_int, [c_char_p, c_char_p, longlong_p]),
    "passauth_json_get_double": (c_int, [c_char_p, c_char_p, double_p]),
    "passauth_json_get_key": (c_int, [c_char_p, c_char_p, c_size_t, c_char_p_p]),
    "passauth_json_count": (c_int, [c_char_p, c_char_p, size_t_p]),
    "passauth_client_new": (c_int, [c_char_p, client_p_p]),
    "passauth_client_new_with_store": (c_int, [c_char_p, ctypes.POINTER(PassauthStore), client_p_p]),
    "passauth_store_set_error": (None, [c_char_p]),
    "passauth_client_free": (None, [client_p]),
    "passauth_set_log_callback": (c_int, [client_p, LOG_CALLBACK, c_void_p]),
    "passauth_stats": (c_int, [client_p, c_char_p_p]),
    "passauth_register": (c_int, [client_p, c_char_p_p]),
    "passauth_configuration": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_mvpds": (c_int, [client_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_mvpd_select": (c_int, [client_p, c_char_p, c_char_p]),
    "passauth_mvpd_selected": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_session_create": (c_int, [client_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_session_resume": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_session_get": (c_int, [client_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_authenticate_url": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_profiles": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_profile_for_mvpd": (c_int, [client_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_profile_for_code": (c_int, [client_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_profiles_stored": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_profile_pick": (c_int, [c_char_p, c_char_p_p]),
    "passauth_profile_pick_for": (c_int, [client_p, c_char_p, c_char_p_p]),
    "passauth_poll_start": (c_int, [client_p, c_char_p, c_char_p, c_char_p, POLL_CALLBACK, c_void_p, poll_p_p]),
    "passauth_poll_wait": (c_int, [poll_p, c_int, c_char_p_p]),
    "passauth_poll_info": (c_int, [poll_p, c_char_p_p]),
    "passauth_poll_cancel": (None, [poll_p]),
    "passauth_poll_free": (None, [poll_p]),
    "passauth_session_partner_sso": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_profile_partner_sso": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_preauthorize": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_authorize": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_logout": (c_int, [client_p, c_char_p, c_char_p, c_char_p, c_char_p_p]),
    "passauth_qr_code": (c_int, [c_char_p, c_char_p_p]),
}


class LibraryNotFoundError(OSError):
    """libpassauth.so could not be loaded from any of the places passauth looks."""


_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def _candidates() -> List[Tuple[str, str]]:
    places: List[Tuple[str, str]] = []
    explicit = os.environ.get("PASSAUTH_LIBRARY")
    if explicit:
        places.append(("PASSAUTH_LIBRARY", explicit))
    bundled = pathlib.Path(__file__).resolve().parent / "lib" / "libpassauth.so.0"
    places.append(("the copy inside the package", str(bundled)))
    places.append(("the system loader path", ctypes.util.find_library("passauth") or "libpassauth.so.0"))
    return places


def library() -> ctypes.CDLL:
    """The loaded library with every function's types declared (loaded once, thread-safe).

    A function of ``FUNCTIONS`` the library does not export (an older library) is left undeclared:
    calling it raises ``AttributeError`` naming it, every other function works."""
    global _library
    if _library is not None:
        return _library
    with _lock:
        if _library is not None:
            return _library
        failures = []
        for origin, path in _candidates():
            if origin == "the copy inside the package" and not os.path.exists(path):
                failures.append(f"{origin} ({path}): not present")
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError as error:
                failures.append(f"{origin} ({path}): {error}")
                continue
            for name, (restype, argtypes) in FUNCTIONS.items():
                try:
                    function = getattr(lib, name)
                except AttributeError:
                    continue
                function.restype = restype
                function.argtypes = argtypes
            _library = lib
            return lib
        raise LibraryNotFoundError(
            "libpassauth.so.0 not found. Looked at:\n  - "
            + "\n  - ".join(failures)
            + "\nSet PASSAUTH_LIBRARY to the library's path, install the package from a build that "
            "bundles it, or install the library system-wide (make install)."
        )


def take_bytes(pointer: Optional[int]) -> Optional[bytes]:
    """Copies a library-allocated string and releases it with passauth_free (None for NULL)."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer)
    finally:
        library().passauth_free(pointer)
