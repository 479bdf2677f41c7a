/*
 * passauth.h — client for the Adobe Pass Authentication REST API V2 and Dynamic Client Registration.
 *
 * One header, one library (libpassauth.so.0). The library runs the Adobe Pass journey for C/C++
 * players and server-to-server back-ends: registration (DCR), configuration, authentication
 * sessions, profiles, decisions and logout, with the access token, client credentials and profile
 * state persisted for you. This header is the reference: every function says what it sends, what it
 * returns, who owns what, whether it is thread-safe and which statuses it returns.
 *
 * Contents
 *   1. Conventions: statuses, strings, ownership, threads, secrets
 *   2. Versions
 *   3. Statuses and errors (passauth_error_last, passauth_last_error)
 *   4. Reading results without a JSON library (passauth_json_get_*)
 *   5. Clients: configuration keys, devices, stores, logs, statistics
 *   6. Errors and retries of every service call (one section every call refers to)
 *   7. Registration and configuration phase
 *   8. Authentication phase: sessions, profiles, polling
 *   9. Single sign-on, TempPass and degraded access
 *  10. Decisions and logout
 *  11. The second screen: QR codes
 *
 * ---------------------------------------------------------------------------------------------
 * 1. Conventions (every function below follows them)
 *
 *   - Status.  Every fallible function returns an int: PASSAUTH_OK (0) on success, a negative
 *     PASSAUTH_E_* code on failure, or (passauth_poll_wait only) the positive PASSAUTH_PENDING, which
 *     is not a failure. On failure, passauth_error_last() (a struct) and passauth_last_error() (the
 *     same as JSON) describe what went wrong; outputs are left untouched and no stored state
 *     (credentials, token, profiles, MVPD choice) is changed.
 *
 *   - Order of arguments.  Handle first, inputs next, outputs last.
 *
 *   - Strings.  Inputs are NUL-terminated UTF-8; invalid UTF-8 is PASSAUTH_E_INVALID_ARGUMENT. JSON
 *     inputs are complete JSON documents (an object or an array as documented), never fragments.
 *     NULL is PASSAUTH_E_INVALID_ARGUMENT naming the argument, except where "may be NULL" is said.
 *
 *   - Ownership.  Results are JSON documents (or URLs) the library allocates into a `char **`
 *     out-parameter; the caller owns them and releases them with passauth_free(). Strings the library
 *     returns as `const char *` are owned by the library; their lifetime is stated at each function.
 *
 *   - Threads.  A passauth_client may be used from any number of threads at once. Calls block the
 *     calling thread for at most the configured timeouts (section 6); nothing waits forever.
 *
 *   - Secrets.  The client's own secrets (client secret, access token, software statement) never
 *     appear in results, errors, statistics or logs, and media tokens and SSO tokens never appear in
 *     errors, statistics or logs, even when a server echoes them back, in any field, as they are or in
 *     the encodings the library itself uses on the wire (URL/form encoding, base64, JSON's "\/"); a
 *     secret of any length is a secret. (A media token is a result of passauth_authorize, and an SSO
 *     token is the caller's own: results are not scrubbed of those.) A client scrubs its
 *     configuration's secrets, its current credentials and the last 16 replaced ones, and the 1,024
 *     most recent media and SSO tokens, so its memory stays bounded.
 *
 *   - Credentials belong to the host that issued them.  State is kept per (service origin, service
 *     provider): the registration and access token obtained from one base URL are never sent to
 *     another, and several environments may share one store without touching each other.
 * ------------------------------------------------------------------------------------------- */
#ifndef PASSAUTH_H
#define PASSAUTH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * 2. Versions
 *
 * The version is written once, in the repository's VERSION file, and generated into these lines.
 * PASSAUTH_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH (sqlite3's scheme), so it
 * compares as an integer. Compile-time checks use the macros; run-time checks (the library a process
 * actually loaded) use passauth_version_number(). The SONAME's number (libpassauth.so.0) changes
 * only when the ABI breaks.
 * ------------------------------------------------------------------------------------------- */
#define PASSAUTH_VERSION_MAJOR 0
#define PASSAUTH_VERSION_MINOR 2
#define PASSAUTH_VERSION_PATCH 0
#define PASSAUTH_VERSION_STRING "0.2.0"
#define PASSAUTH_VERSION_NUMBER 2000
/* True when the header is at least MAJOR.MINOR.PATCH. */
#define PASSAUTH_VERSION_CHECK(major, minor, patch) \
    (PASSAUTH_VERSION_NUMBER >= ((major) * 1000000 + (minor) * 1000 + (patch)))

/*
 * passauth_version — the loaded library's version as "MAJOR.MINOR.PATCH".
 * Returns a static string; never NULL, never freed. Thread-safe. No errors.
 */
const char *passauth_version(void);

/*
 * passauth_version_number — the loaded library's PASSAUTH_VERSION_NUMBER (compare it with the
 * header's to detect a header/library mismatch at run time). Thread-safe. No errors.
 */
int passauth_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * 3. Statuses and errors
 * ------------------------------------------------------------------------------------------- */

/* Status codes. Values are stable across releases; new codes are only ever appended. */
typedef enum passauth_status {
    PASSAUTH_PENDING = 1,             /* passauth_poll_wait: the wait ended, the poll goes on (not an error) */
    PASSAUTH_OK = 0,
    PASSAUTH_E_INVALID_ARGUMENT = -1, /* bad input from the caller: NULL, bad UTF-8/JSON, unknown or mistyped key */
    PASSAUTH_E_TRANSPORT = -2,        /* could not talk to the service: DNS, connect, TLS, reset */
    PASSAUTH_E_TIMEOUT = -3,          /* no complete answer within timeoutMs, or a poll's own timeoutMs passed */
    PASSAUTH_E_HTTP = -4,             /* an HTTP error status without an enhanced error body */
    PASSAUTH_E_SERVICE = -5,          /* the service answered with an enhanced error code (see "code", "action") */
    PASSAUTH_E_UNAUTHORIZED = -6,     /* 401 even after refreshing the access token once */
    PASSAUTH_E_THROTTLED = -7,        /* 429 Too Many Requests, or a wait longer than timeoutMs (see "retryAfterMs") */
    PASSAUTH_E_PROTOCOL = -8,         /* the response was malformed, oversized or not what the API documents */
    PASSAUTH_E_EXPIRED = -9,          /* an authentication code or profile expired */
    PASSAUTH_E_CANCELLED = -10,       /* the operation was cancelled (by the caller, a newer code, or freeing the client) */
    PASSAUTH_E_REGISTRATION = -11,    /* DCR refused the software statement or client, or a re-registration was refused by config */
    PASSAUTH_E_STORE = -12,           /* the persistent store could not be read, locked or written */
    PASSAUTH_E_INTERNAL = -13,        /* a bug or resource exhaustion inside passauth */
    PASSAUTH_E_NOT_FOUND = -14        /* the requested item (profile, MVPD choice, JSON member) does not exist */
} passauth_status;

/*
 * passauth_status_name — the symbolic name of a status ("PASSAUTH_E_TIMEOUT", "PASSAUTH_PENDING"), or
 * "PASSAUTH_E_UNKNOWN" for a value not in the enum. Returns a static string; never NULL, never freed.
 * Thread-safe. No errors.
 */
const char *passauth_status_name(int status);

/*
 * The last failure of a call made on the calling thread, as a struct (C callers read it without a
 * JSON library). Strings are NUL-terminated UTF-8 owned by the library; a member that does not apply
 * is NULL (strings), 0 (http_status) or -1 (retry_after_ms). New members are only ever appended;
 * the library allocates the struct, so an older caller never reads past what it knows.
 */
typedef struct passauth_error {
    int status;                 /* the status the failing call returned (PASSAUTH_OK before any failure) */
    const char *name;           /* its symbolic name, never NULL */
    const char *message;        /* what went wrong, in English, naming the key or endpoint concerned; never NULL */
    const char *code;           /* enhanced error code or DCR error ("authorization_denied_by_mvpd", "invalid_client") */
    const char *action;         /* enhanced error action ("retry", "authentication", "configuration", ...) */
    const char *endpoint;       /* the service operation ("register", "token", "decisions.authorize", ...) */
    const char *key;            /* the config or input key a validation error is about ("device.id") */
    const char *details;        /* as sent by the service (scrubbed of secrets) */
    const char *help_url;       /* as sent by the service */
    const char *trace;          /* as sent by the service */
    const char *body;           /* a short printable excerpt of an unexpected response body */
    int http_status;            /* the HTTP status when the service answered, else 0 */
    long long retry_after_ms;   /* how long to wait before the next request (429, 503, throttled), else -1 */
    const char *json;           /* the same record as JSON: what passauth_last_error() returns */
} passauth_error;

/*
 * passauth_error_last — the last failure on the calling thread. Never NULL: before any failure on
 * this thread it is {status 0, name "PASSAUTH_OK", message "no error"}. The struct and its strings
 * stay valid until the next passauth call that fails on the same thread (successful calls leave it
 * alone); do not free it. Thread-safe (each thread has its own). Never contains a secret. No errors
 * (it cannot fail, and calling it changes nothing).
 */
const passauth_error *passauth_error_last(void);

/*
 * passauth_last_error — passauth_error_last() as a JSON object:
 *   "status", "statusName", "message", and when they apply "httpStatus", "code", "action", "details",
 *   "helpUrl", "trace", "retryAfterMs", "key", "endpoint", "body".
 * Same lifetime as passauth_error_last(): owned by the library, do not free it. Thread-safe (each thread
 * has its own). Never NULL. Never contains a secret. No errors.
 */
const char *passauth_last_error(void);

/*
 * passauth_free — releases a string the library returned through an out-parameter. NULL is a no-op.
 * Freeing a string twice, or a pointer the library did not return, is undefined behaviour. Thread-safe.
 * No errors.
 */
void passauth_free(void *ptr);

/* ---------------------------------------------------------------------------------------------
 * 4. Reading results without a JSON library
 *
 * Results are JSON (the boundary of the design: the service's documents, passed through). A C player
 * reads the few values it needs with RFC 6901 JSON Pointers, e.g.
 *     passauth_json_get_string(decisions, "/decisions/0/token/serializedToken", &token);
 *     passauth_json_get_bool(decisions, "/decisions/0/authorized", &authorized);
 *     passauth_json_count(profiles, "/profiles", &n);
 * `json` is any JSON document (a result of this library, or passauth_last_error()); `pointer` is ""
 * (the whole document) or "/"-separated reference tokens with "~1" for "/" and "~0" for "~"; array
 * indices are decimal. Each call parses `json` (jansson; a few microseconds for a result), so read a
 * result once per value, not in a loop over a large document.
 * Errors (all six): PASSAUTH_E_INVALID_ARGUMENT (NULL, invalid JSON or UTF-8, a malformed pointer, the
 * value has another type: the message names the type found), PASSAUTH_E_NOT_FOUND (the pointer
 * designates nothing). Thread-safe; no client needed.
 * ------------------------------------------------------------------------------------------- */

/* The string at `pointer`; *out is caller-owned (passauth_free), untouched on failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT, PASSAUTH_E_NOT_FOUND (above). Thread-safe. */
int passauth_json_get_string(const char *json, const char *pointer, char **out);
/* The boolean at `pointer`: *out is 1 (true) or 0 (false), untouched on failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT, PASSAUTH_E_NOT_FOUND (above). Thread-safe. */
int passauth_json_get_bool(const char *json, const char *pointer, int *out);
/* The integer at `pointer` (a JSON number without fraction, within 64 bits; a number with a fraction,
 * such as the statistics' "p50Ms", is PASSAUTH_E_INVALID_ARGUMENT: read it with
 * passauth_json_get_double), untouched on failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT, PASSAUTH_E_NOT_FOUND (above). Thread-safe. */
int passauth_json_get_int64(const char *json, const char *pointer, long long *out);
/* The number at `pointer`, with or without a fraction, as a double (an integer beyond 2^53 loses
 * precision: read times and counts with passauth_json_get_int64), untouched on failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (also when the value is not a number), PASSAUTH_E_NOT_FOUND
 * (above). Thread-safe. */
int passauth_json_get_double(const char *json, const char *pointer, double *out);
/* The name of member number `index` (0-based, in document order) of the object at `pointer`: with
 * passauth_json_count, how a C player walks an object keyed by names it does not know in advance, such
 * as the MVPD ids of a profiles result ("/profiles"). *out is caller-owned (passauth_free), untouched on
 * failure. Errors: PASSAUTH_E_INVALID_ARGUMENT (also when the value is not an object),
 * PASSAUTH_E_NOT_FOUND (above, or `index` >= the number of members). Thread-safe. */
int passauth_json_get_key(const char *json, const char *pointer, size_t index, char **out);
/* The number of elements of the array, or of members of the object, at `pointer`; untouched on failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (also when the value is neither an array nor an object),
 * PASSAUTH_E_NOT_FOUND (above). Thread-safe. */
int passauth_json_count(const char *json, const char *pointer, size_t *out);

/* ---------------------------------------------------------------------------------------------
 * 5. Clients
 * ------------------------------------------------------------------------------------------- */

/* A client: one service provider, one registration per service origin, any number of devices and threads. */
typedef struct passauth_client passauth_client;

/*
 * passauth_client_new — creates a client from a JSON configuration object. Keys (docs/configuration.md
 * gives each with its type, default and the Adobe page it comes from):
 *   "serviceProvider"   string, required: the service provider (requestor) id, e.g. "REF30"
 *   "softwareStatement" string, required: the software statement from the Adobe Pass TVE Dashboard
 *   "environment"       string: "production" (default, https://sp.auth.adobe.com), "staging"
 *                       (https://sp.auth-staging.adobe.com), "prequal-production"
 *                       (https://sp-prequal.auth.adobe.com), "prequal-staging"
 *                       (https://sp-prequal.auth-staging.adobe.com)
 *   "baseUrl"           string: overrides "environment" (e.g. the local emulator). Plain http is refused
 *                       unless the host is a literal loopback address (127.0.0.0/8, ::1) or "localhost",
 *                       or "allowInsecureHttp" is true; over plain http the connected peer must also be
 *                       a loopback address (checked before any credential is sent)
 *   "redirectUri"       string: sent as redirect_uri at registration
 *   "store"             string: where the persistent state lives:
 *                         a directory (default $XDG_STATE_HOME/passauth, else ~/.local/state/passauth):
 *                         an embedded SQLite database in it (passauth.sqlite3, WAL mode,
 *                         synchronous=FULL), created 0700/0600 with its -wal/-shm files, shared safely by
 *                         any number of processes (the registration lock is an flock on
 *                         passauth.sqlite3.lock, released by the kernel if its holder dies; readers take
 *                         no lock). A store that cannot be written (read-only directory or file) still
 *                         serves calls that only read, such as an authorization with a stored token; a
 *                         call that must write fails with PASSAUTH_E_STORE. A passauth 0.1 state file
 *                         (<store>/<serviceProvider>.json, which records no origin) is never used: while
 *                         no state exists for the origin, calls fail with PASSAUTH_E_STORE naming it
 *                         (move it away, or import it for the service it was written for);
 *                         "redis://[[user]:password@]host[:port][/db]" or "rediss://..." (TLS): a Redis
 *                         server shared by a fleet of instances. libhiredis.so.0.14 (Debian/Ubuntu package
 *                         libhiredis0.14) is loaded with dlopen at the first connection, so only programs
 *                         that use Redis need it; without it calls fail with PASSAUTH_E_STORE naming the
 *                         package. rediss:// verifies the server's certificate against "caFile" (else the
 *                         system's trust store) and its name against the host. The password is sent with
 *                         AUTH (with the user name when given), then SELECT db. Each key is a hash (the
 *                         value "d" and its version "v", written by a compare-and-set script; a delete
 *                         keeps the version an hour as a tombstone), the registration lock a lease (SET NX
 *                         PX, renewed while held, expired within 10 s of a dead holder). Resolving (a
 *                         host name, on a short-lived thread), connecting, writing and reading are
 *                         bounded by timeoutMs; a client keeps at most 4
 *                         connections, plus one thread and connection for the fleet's messages (the
 *                         "passauth-redis" thread, started at the first use of Redis). Redis Cluster:
 *                         the URL names any node; commands go to their key's node (MOVED and ASK are
 *                         followed) and every script touches one key or keys of one hash tag. With a
 *                         Redis store the fleet also shares each device's pacing budget and 429 waits
 *                         (keys "<prefix>{<origin>|<serviceProvider>|@<device ip or id>}:pacing" and
 *                         ":throttled", on Redis's clock), and a logout or an invalidated profile on one
 *                         instance drops the cached permits of every instance (pub/sub channel
 *                         "<prefix>{<origin>|<serviceProvider>}:events"). With a Redis store the polls
 *                         of a fleet are shared: a poll started on any instance is a record in Redis
 *                         ("...}:poll:<id>", due times in the sorted set "...}:polls:due", the device's
 *                         newest code in "...}:poll-device:<sha1 of its id>", all in the
 *                         "{<origin>|<serviceProvider>}" hash tag), polled by whichever instance claims
 *                         it when due (section 8, "Polling for the profile of a code"). Redis
 *                         unreachable: calls that need the store fail with PASSAUTH_E_STORE naming the
 *                         server and the cause (connection refused, timed out, authentication failed),
 *                         pacing falls back to the instance's own, each instance polls the codes it
 *                         started by itself, nothing is half-written, and calls work again once Redis
 *                         is back
 *   "storeKeyPrefix"    string: prefix of every key the library writes, in any store (default
 *                       "passauth:"); at most 128 printable ASCII characters, no spaces or braces
 *   "storeEncryptionKey" string: base64 of 32 bytes; when set, the client secret and access token are
 *                       stored encrypted with AES-256-GCM under this key (any store)
 *   "reregister"        string: "auto" (default) or "never". A new DCR registration logs every user of
 *                       the old client out (DCR FAQ): with "never", a call that would need one fails
 *                       with PASSAUTH_E_REGISTRATION (code "reregistration_refused") instead
 *   "device"            object: the default device context (see Devices below)
 *   "defaultDeviceInfo" boolean: send an X-Device-Info built from this host when a device has no
 *                       "info", on every call whose reference page lists the header (default true; most
 *                       tables mark it required; without it the service guesses the platform)
 *   "strictDeviceInfo"  boolean: a device "info" that breaks the X-Device-Info appendix (a missing
 *                       required field, a value outside a restricted list, a wrong type) fails the call
 *                       with PASSAUTH_E_INVALID_ARGUMENT naming the field (default false: a warning in
 *                       the log and the "deviceInfoWarnings" statistic)
 *   "timeoutMs"         integer 1..600000: total time allowed for one service call, retries and waits
 *                       included (default 30000)
 *   "connectTimeoutMs"  integer: time allowed to connect (default 10000, at most timeoutMs)
 *   "caFile"            string: PEM bundle of the CAs to trust (TLS is always verified)
 *   "proxy"             string: HTTP(S) proxy URL for every request ("http://proxy:3128"); without it
 *                       libcurl honours https_proxy / http_proxy / no_proxy from the environment
 *   "allowInsecureHttp" boolean: permit plain http to a non-loopback host (default false)
 *   "pacing"            boolean: client-side throttle, a token bucket per device IP (the device's "ip",
 *                       else its "id") so that the service's throttle (1 request/s, burst 10) never
 *                       answers 429: callers are delayed, not failed, unless the wait exceeds timeoutMs
 *                       (default true). With a Redis store the bucket is shared by the fleet.
 *   "pacingRatePerSecond" number > 0 and <= 1000: the bucket's refill rate (default 1)
 *   "pacingBurst"       integer 1..1000: the bucket's size (default 10)
 *   "logLevel"          string: "none", "error", "warn" (default), "info", "debug", "trace"
 *   "maxResponseBytes"  integer 1024..268435456: larger responses are refused with PASSAUTH_E_PROTOCOL
 *                       (default 4 MiB)
 *   "configurationCacheMs" integer 0..3600000: how long a configuration answer is reused, per platform
 *                       (default 240000; 0 = off)
 *   "pollIntervalMs"    integer 3000..60000: default polling interval (default 4000)
 *   "authorizeBatchSize" integer 1..50: resources per authorization request (default 1: Adobe answers
 *                       403 too_many_resources above its configured limit, "usually up to 1")
 *   "preauthorizeBatchSize" integer 1..50: resources per preauthorization request (default 5)
 *   "profileRefreshMs"  integer 0..86400000: after a successful authorization the device's stored
 *                       profile for that MVPD is refreshed in the background (one profiles-by-MVPD
 *                       request; MVPD attributes such as householdID may change at authorization), at
 *                       most once per this period per device and MVPD (default 600000; 0 = never)
 * Unknown keys, wrong types, values out of range and missing required keys are
 * PASSAUTH_E_INVALID_ARGUMENT with the key named in passauth_error_last()->key. No network I/O and no
 * store access happen here (a Redis store connects on first use).
 * On success *out receives a client the caller owns and must release with passauth_client_free().
 * Errors: PASSAUTH_E_INVALID_ARGUMENT, PASSAUTH_E_INTERNAL. Thread-safe.
 *
 * Devices.  `device_json` is a JSON object describing the streaming device a call acts for, or NULL
 * for the client's default device (the config's "device"). Keys, all optional:
 *   "id"                     stable raw device id (sent as AP-Device-Identifier: fingerprint
 *                            <base64(id)>); it also keys the device's state (profiles, MVPD choice,
 *                            polls, cached permits). A device_json without "id" is a different device
 *                            from the default one and has no state: calls that need a device id (they
 *                            say so) fail with PASSAUTH_E_INVALID_ARGUMENT naming "device.id"; two
 *                            devices never share state.
 *   "info"                   object of X-Device-Info fields (sent base64-encoded JSON), validated
 *                            against the X-Device-Info appendix (see "strictDeviceInfo")
 *   "ip"                     the device's IP, forwarded as X-Forwarded-For (server-to-server); also
 *                            fills X-Device-Info "connectionIp" when the caller's info has none
 *   "port"                   integer 1..65535: the device's source port (server-to-server); fills
 *                            X-Device-Info "connectionPort" (home-based authentication needs both)
 *   "userAgent"              the device's User-Agent
 *   "subjectToken"           platform identity SSO token, sent as Adobe-Subject-Token
 *   "rokuConnectToken"       Roku platform SSO token, sent as X-Roku-Reserved-Roku-Connect-Token;
 *                            the two are alternatives: when both are set only "subjectToken" is sent
 *   "serviceToken"           service token SSO, sent as AD-Service-Token
 *   "partnerFrameworkStatus" partner SSO (Apple) status, sent base64-encoded as
 *                            AP-Partner-Framework-Status. The object the header's reference page
 *                            defines:
 *                              {"frameworkPermissionInfo": {"accessStatus": "granted"|"denied"|
 *                                  "restricted"|"notDetermined", "error"?: {"code", "message"}},
 *                               "frameworkProviderInfo": {"id": "<MVPD platform mapping id>",
 *                                  "expirationDate": "<ms since the epoch>", "error"?: {"code", "message"}}}
 *                            both members required; "id" and "expirationDate" required when
 *                            accessStatus is "granted"; expirationDate may be an integer and is
 *                            sent as a string of milliseconds
 *   "tempPassIdentity"       promotional TempPass: the user's identity fields, a non-empty object of
 *                            non-empty strings (e.g. {"email": "user@example.com"}), sent
 *                            base64-encoded JSON as AP-TempPass-Identity
 *   "visitorId"              sent as AP-Visitor-Identifier
 * Unknown keys (also inside the two identity objects), wrong types and CR/LF/NUL in any string sent as
 * a header value as it is are PASSAUTH_E_INVALID_ARGUMENT (the values inside "info" and
 * "tempPassIdentity" travel base64-encoded and may hold any text).
 * Each call sends only the device headers its reference page lists (Adobe's checklist: send only
 * expected headers); values a call does not accept are left out, silently:
 *   configuration                   AP-Device-Identifier, X-Device-Info, X-Forwarded-For, User-Agent
 *   session_create, logout          those + AP-Visitor-Identifier, the platform identity, AD-Service-Token
 *   session_resume, session_get     X-Forwarded-For, User-Agent, AP-Visitor-Identifier
 *   profiles, preauthorize          as session_create + AP-Partner-Framework-Status
 *   profile_for_mvpd, authorize     as profiles + AP-TempPass-Identity
 *   profile_for_code (and polling)  X-Forwarded-For, User-Agent, AP-Visitor-Identifier, AP-TempPass-Identity
 *   session_partner_sso, profile_partner_sso   AP-Device-Identifier, X-Device-Info, X-Forwarded-For,
 *                                   User-Agent, AP-Visitor-Identifier, AP-Partner-Framework-Status
 */
int passauth_client_new(const char *config_json, passauth_client **out);

/*
 * passauth_store — a persistent store supplied by the application (a database of its own), for state
 * shared by several service instances. The library keeps its state in a few keys and reads and writes
 * them one at a time with versioned, conditional writes (compare-and-set), so no write can ever
 * overwrite state newer than the one it was computed from:
 *   - "<prefix>{<origin>|<serviceProvider>}:registration"        client credentials + access token
 *   - "<prefix>{<origin>|<serviceProvider>|<device>}:profiles"     the device's stored profiles
 *   - "<prefix>{<origin>|<serviceProvider>|<device>}:mvpd"         the device's MVPD choice
 * <origin> is the base URL with scheme and host lower-cased, the default port dropped, the path kept and
 * no trailing slash ("https://sp.auth.adobe.com"); device ids are percent-encoded (RFC 3986 unreserved
 * characters kept), and in the origin and the service provider id any byte that is not printable ASCII,
 * and '{', '}', '|', is percent-encoded ("REF30" is unchanged); the part in braces is a Redis Cluster
 * hash tag. The profiles key is written with a TTL (its latest profile's notAfter), the registration
 * and the MVPD choice without one. The registration lock is named "<prefix>{<origin>|<serviceProvider>}:lock".
 * Keys are printable ASCII, at most 1024 bytes (a device id too long for that is
 * PASSAUTH_E_INVALID_ARGUMENT naming "device.id"); values are UTF-8 JSON text the callbacks must store
 * as they are; the library validates what it reads back. Map them onto a table (key PRIMARY KEY, value,
 * version) or onto a key-value store with a version per key.
 *
 *   version  PASSAUTH_STORE_VERSION (the struct may grow; the library reads only what this says)
 *   get      reads `key`: sets *out_value to the value allocated with malloc(3) (the library frees it
 *            with free(3)) or to NULL when the key does not exist, and *out_version to its version (0
 *            when absent); returns 0, or non-zero on failure.
 *   put      writes `value` (NULL = delete the key) only if the key's current version is
 *            `expected_version` (0 = the key must not exist), atomically; on success sets
 *            *out_version to the new version (any value greater than expected_version, never reused
 *            for the key) and returns 0; returns PASSAUTH_STORE_CONFLICT when the current version
 *            differs (nothing written: the library re-reads and tries again); other non-zero on
 *            failure. `ttl_ms` > 0: the library no longer needs the value after that many ms, the
 *            store may delete it then (0: keep it).
 *   lock     acquires the exclusive lock `name` (across threads, processes and hosts), waiting at
 *            most timeout_ms; may set *out_token to anything (a lease id) that unlock then receives;
 *            returns 0 when held, non-zero on failure or timeout. Held only across one registration
 *            (two requests of at most timeoutMs each): a lease of a few minutes is a safe expiry.
 *   unlock   releases the lock taken by the lock call that produced `token`. Its result is ignored:
 *            a lock that cannot be released must expire in the store.
 * A callback that fails may say why with passauth_store_set_error() before returning; the message
 * reaches passauth_error_last() of the failing call (PASSAUTH_E_STORE). A non-zero return, or a
 * value that is not what the library wrote, fails the call with PASSAUTH_E_STORE (the message names
 * the callback and the key); nothing is written then, so a store outage fails calls but never
 * corrupts the state. Reads take no lock. Callbacks may be called from any thread, also concurrently,
 * and must not call back into the library except passauth_store_set_error.
 */
#define PASSAUTH_STORE_VERSION 1
#define PASSAUTH_STORE_CONFLICT 1

typedef struct passauth_store {
    unsigned int version;
    void *user_data;
    int (*get)(void *user_data, const char *key, char **out_value, unsigned long long *out_version);
    int (*put)(void *user_data, const char *key, const char *value, unsigned long long expected_version,
               long long ttl_ms, unsigned long long *out_version);
    int (*lock)(void *user_data, const char *name, int timeout_ms, void **out_token);
    int (*unlock)(void *user_data, const char *name, void *token);
} passauth_store;

/*
 * passauth_client_new_with_store — as passauth_client_new, with the state kept in `store` instead of
 * the config's "store". The store is chosen at creation and never changes for the client's life.
 * *store is copied (the struct may be released after the call); user_data and the callbacks must stay
 * valid until passauth_client_free returns. Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL store, a version
 * other than PASSAUTH_STORE_VERSION, a missing callback), and those of passauth_client_new. No
 * callback is called here. Thread-safe.
 */
int passauth_client_new_with_store(const char *config_json, const passauth_store *store, passauth_client **out);

/*
 * passauth_store_set_error — called by a passauth_store callback on its way to returning non-zero:
 * `message` (copied; may be NULL to clear) becomes part of the failing call's error message. Only
 * meaningful inside a callback (it is thread-local and consumed by the next store failure on the
 * thread). Thread-safe. No errors.
 */
void passauth_store_set_error(const char *message);

/*
 * passauth_client_free — releases a client: ends its polls (PASSAUTH_E_CANCELLED, callbacks run; with a
 * Redis store their records stay for the rest of the fleet, see section 8), stops its threads and closes
 * its connections before returning. NULL is a no-op. Not thread-safe with
 * other calls on the same client: the caller must ensure no other thread is still using it (any one
 * thread may free it); freeing a client twice, or using it after it was freed, is undefined behaviour.
 * Polls of the client stay valid handles (see passauth_poll_start). The store's callbacks and the log
 * callback are not called after it returns. No errors.
 */
void passauth_client_free(passauth_client *client);

/*
 * Logs.  Levels, most severe first; a client logs what its config's "logLevel" admits. At "info" and
 * above the library logs what an operator needs: retries, 429 waits, re-registrations, 5xx answers,
 * poll failures, each with its endpoint and device id; "debug" adds every exchange (method, path,
 * status, duration), "trace" sizes and content types. Never a secret, never a header value or body.
 */
typedef enum passauth_log_level {
    PASSAUTH_LOG_ERROR = 1,
    PASSAUTH_LOG_WARN = 2,
    PASSAUTH_LOG_INFO = 3,
    PASSAUTH_LOG_DEBUG = 4,
    PASSAUTH_LOG_TRACE = 5
} passauth_log_level;

/* One log line, already redacted, without a trailing newline; valid only during the call. */
typedef void (*passauth_log_callback)(void *user_data, int level, const char *message);

/*
 * passauth_set_log_callback — sends the client's log lines to `fn` instead of stderr (fn NULL: back to
 * stderr). Takes effect for lines logged after it returns. `fn` is called on whatever thread logs
 * (callers' threads and the library's poll threads), possibly concurrently; it must be quick and must
 * not call passauth_client_free or passauth_set_log_callback on this client. user_data must stay
 * valid until the callback is replaced or the client is freed. Errors: PASSAUTH_E_INVALID_ARGUMENT
 * (NULL client). Thread-safe.
 */
int passauth_set_log_callback(passauth_client *client, passauth_log_callback fn, void *user_data);

/*
 * passauth_stats — counters of this client since it was created, as a JSON object:
 *   "requests" (per endpoint), "requestsTotal", "retries", "unauthorizedRefreshes" (401s answered by
 *   a token refresh), "throttled" (429s received), "cacheHits", "connectionsOpened" (TCP connections),
 *   "registrations", "reregistrations" (registrations that replaced a client), "tokenFetches",
 *   "deviceInfoWarnings", "activePolls" (this instance's), "clockOffsetMs" (the service's clock minus
 *   ours, from the HTTP Date header), with a Redis store "fleetInstance" (this client's random id in
 *   the fleet), and "latency": {"<endpoint>": {"count", "p50Ms", "p99Ms"}} (whole exchanges, from a
 *   histogram; p99 within about 10%).
 * Never contains a secret. No request. *out_json is owned by the caller (passauth_free). "p50Ms" and
 * "p99Ms" have one decimal: passauth_json_get_int64 does not read them.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL). Thread-safe.
 */
int passauth_stats(passauth_client *client, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * 6. Errors and retries of every service call
 *
 * Every function below that talks to the service (it says "REST call" or "DCR call") returns, besides
 * the statuses it lists itself:
 *   PASSAUTH_E_TRANSPORT    the service could not be reached (the message names the host, and the
 *                           proxy when one is used)
 *   PASSAUTH_E_TIMEOUT      no complete answer within "timeoutMs" (all attempts and waits included)
 *   PASSAUTH_E_HTTP         an HTTP error without an enhanced error body ("httpStatus", "body")
 *   PASSAUTH_E_SERVICE      a top-level enhanced error ("code", "action", "httpStatus", "message",
 *                           "details", "helpUrl", "trace")
 *   PASSAUTH_E_UNAUTHORIZED 401 even after one access token refresh
 *   PASSAUTH_E_THROTTLED    429, or a wait for the device's turn longer than timeoutMs ("retryAfterMs")
 *   PASSAUTH_E_PROTOCOL     an answer that is not what the reference page documents (never stored)
 *   PASSAUTH_E_REGISTRATION the implicit registration failed ("code")
 *   PASSAUTH_E_STORE        the store could not be read or written
 *
 * The library retries by itself, at most 3 attempts per call in all, never in a loop; one policy
 * decides for blocking calls and for polls alike:
 *   - "action": "retry", HTTP 5xx (without an action, or with "none") and transport failures: after a
 *     backoff with jitter (0.1-2 s), or the answer's Retry-After when longer;
 *   - 429: the device's next request (keyed by its "ip", else its "id") waits at least 1 s, or
 *     Retry-After if longer (seconds or an HTTP-date), then the call is tried again; a wait longer than
 *     what is left of timeoutMs fails at once with PASSAUTH_E_THROTTLED and "retryAfterMs";
 *   - 401: the access token is refreshed once and the call retried once (Adobe's checklist);
 *   - "action": "application-registration" (other than a 401): the client registers again once,
 *     unless "reregister" is "never" (then PASSAUTH_E_REGISTRATION, code "reregistration_refused").
 *     The old credentials stay stored until the new ones are;
 *   - in a multi-item answer (preauthorize, authorize) only the items marked "retry" are requested
 *     again, within the same 3 attempts;
 *   - "authentication" (log the user in again), "authorization", "configuration", "none" (below HTTP
 *     500) and timeouts are returned to the caller at once.
 * Profile errors ("authenticated_profile_missing", "_expired", "_invalidated", top-level or
 * item-level, on any call) also drop the device's stored profile for that MVPD and its cached permits,
 * so the next passauth_profiles_stored / passauth_profile_pick says "log in again".
 * Clock skew: validity decisions (token expiry, profile pick, code expiry, permit cache) use the
 * service's time, estimated from the HTTP Date header of its answers; a device whose clock is minutes
 * off still sees a fresh profile as valid. passauth_stats() counts "retries" and "throttled".
 * ------------------------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------------------------
 * 7. Registration and configuration phase
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_register — DCR call: ensures the client is registered with the service origin and holds a
 * usable access token. Uses the stored client credentials and token when they are usable (no request
 * at all); otherwise registers (POST /o/client/register, only when no credentials are stored for this
 * origin and software statement) and fetches a token (POST /o/client/token). A token is refreshed
 * shortly before it expires; an invalid_client answer triggers one new registration (see "reregister").
 * Concurrent callers, in this process or in other processes sharing the store, share one registration.
 * Every other call registers implicitly; call this to do it ahead of time or to check the setup.
 * The default device (config "device") provides the X-Device-Info and User-Agent of the DCR calls.
 * *out_json (caller-owned) is {"clientId", "clientIdIssuedAt", "accessTokenExpiresAt" (both ms since the
 * epoch; DCR's client_id_issued_at, in seconds, is converted), "registered" (a registration happened
 * now), "tokenFetched" (a token was fetched now)} — no secrets. The DCR requests this call makes itself
 * are sent once each: not paced, not retried, and a 429 is returned at once (section 6's retries apply
 * to the REST calls, which register implicitly).
 * A new client is stored as soon as DCR returns it, before its token is requested, so that a failing
 * token request does not lose it (the one exception to "a failed call changes nothing stored").
 * Errors: PASSAUTH_E_REGISTRATION ("code": invalid_software_statement, unapproved_software_statement,
 * invalid_client, reregistration_refused), PASSAUTH_E_STORE, and those of section 6. Thread-safe.
 */
int passauth_register(passauth_client *client, char **out_json);

/*
 * passauth_configuration — REST call GET /api/v2/{serviceProvider}/configuration: the MVPDs
 * integrated with the service provider, as the service returns them ({"requestor": {"mvpds": [...]},
 * ...}). The checklist asks to call it only when the user must pick a TV provider. Answers are cached
 * in memory for "configurationCacheMs" per platform (the X-Device-Info fields the answer depends on:
 * primaryHardwareType, osName, osFamily, osVendor, model, applicationId), so a back-end whose devices differ only
 * in ids and addresses shares one entry; a cache hit makes no request and counts in "cacheHits".
 * Does not need a device id. *out_json is caller-owned.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL out_json, bad device_json), and those of section 6. Thread-safe.
 */
int passauth_configuration(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_mvpds — the configuration's MVPDs for a TV-provider picker, filtered:
 *   filter_json (may be NULL = everything): {"tempPass": false  (leave out TempPass MVPDs),
 *   "proxy": false (leave out proxied MVPDs), "exclude": ["id", ...] (e.g. test MVPDs),
 *   "search": "spec" (case-insensitive substring of id or displayName)}; every key optional.
 * *out_json (caller-owned) is {"mvpds": [ ...MVPD objects as in the configuration... ]}.
 * Uses passauth_configuration (and its cache). Errors: PASSAUTH_E_INVALID_ARGUMENT (bad filter_json),
 * and those of passauth_configuration. Thread-safe.
 */
int passauth_mvpds(passauth_client *client, const char *device_json, const char *filter_json, char **out_json);

/*
 * passauth_mvpd_select — records the user's TV provider choice for the device in the store (the
 * checklist's "TV Provider Selection Caching"): mvpd_json is an MVPD object from the configuration; its
 * "id" (required), "displayName" and "logoUrl" are kept. No request. Needs a device id.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (no id in mvpd_json, no device id), PASSAUTH_E_STORE.
 * Thread-safe; concurrent writers (threads, processes, instances) never lose a write.
 */
int passauth_mvpd_select(passauth_client *client, const char *device_json, const char *mvpd_json);

/*
 * passauth_mvpd_selected — the device's recorded choice ({"id", "displayName", "logoUrl"}), read from
 * the store without a request. *out_json is caller-owned. Needs a device id.
 * Errors: PASSAUTH_E_NOT_FOUND (no choice recorded), PASSAUTH_E_INVALID_ARGUMENT, PASSAUTH_E_STORE.
 * Thread-safe.
 */
int passauth_mvpd_selected(passauth_client *client, const char *device_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * 8. Authentication phase
 *
 * Codes are validated before use: 1-64 letters, digits, '-' or '_' (surrounding whitespace is
 * ignored); anything else is PASSAUTH_E_INVALID_ARGUMENT without a request. Session and profile
 * results are the service's JSON with notBefore/notAfter always numbers of milliseconds (a value that
 * is neither a number nor a string of digits within range is PASSAUTH_E_PROTOCOL) and "url" made
 * absolute.
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_session_create — REST call POST /api/v2/{serviceProvider}/sessions.
 * params_json (may be NULL): {"mvpd": ..., "domainName": ..., "redirectUrl": ...}, any of them missing
 * (the answer then says actionName "resume" with "missingParameters"). Needs a device id.
 * *out_json (caller-owned): {"actionName": "authenticate"|"resume"|"authorize", "actionType":
 * "interactive"|"direct", "reasonType": "none"|"authenticated"|"temporary"|"degraded"|"authenticatedSSO",
 * "missingParameters": [...], "url": absolute URL, "code", "sessionId", "mvpd", "serviceProvider",
 * "notBefore", "notAfter"}.
 * A new code ends, at once, any poll of an older code for the same device (PASSAUTH_E_CANCELLED).
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (bad params_json, no device id), and those of section 6.
 * Thread-safe.
 */
int passauth_session_create(passauth_client *client, const char *device_json, const char *params_json, char **out_json);

/*
 * passauth_session_resume — REST call POST /api/v2/{serviceProvider}/sessions/{code} with the
 * parameters the session reported missing (params_json as for passauth_session_create). On a second
 * screen with a preselected MVPD, this is also how a typed-in code is validated. Same result shape.
 * Does not need a device id. Errors: PASSAUTH_E_INVALID_ARGUMENT (bad code or params_json), and those
 * of section 6. Thread-safe.
 */
int passauth_session_resume(passauth_client *client, const char *device_json, const char *code,
                            const char *params_json, char **out_json);

/*
 * passauth_session_get — REST call GET /api/v2/{serviceProvider}/sessions/{code}: the session behind a
 * code. Use it to validate a code typed on a second screen before opening the authentication URL; an
 * unknown or expired code fails with PASSAUTH_E_SERVICE ("code": "invalid_authentication_session").
 * Does not need a device id. *out_json is caller-owned.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (bad code), and those of section 6. Thread-safe.
 */
int passauth_session_get(passauth_client *client, const char *device_json, const char *code, char **out_json);

/*
 * passauth_authenticate_url — the URL a user agent opens to log in with the MVPD for `code`:
 * {base}/api/v2/authenticate/{serviceProvider}/{code}. Works for the first screen's browser and for a
 * second-screen app alike (passauth_qr_code draws it). No request is made. *out_url is caller-owned.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (bad code). Thread-safe.
 */
int passauth_authenticate_url(passauth_client *client, const char *code, char **out_url);

/*
 * passauth_profiles — REST call GET /api/v2/{serviceProvider}/profiles: every valid profile of the
 * device, {"profiles": {"<mvpd>": {"notBefore", "notAfter", "issuer", "type", "attributes"}, ...}}
 * (the map may be empty). Attributes are {"<name>": {"value": ..., "state": "plain"|"enc"}} as the
 * service sends them. The profile parts the checklist names are persisted for the device (see
 * passauth_profiles_stored); the store is written only when they changed. Needs a device id.
 * *out_json is caller-owned. Errors: PASSAUTH_E_INVALID_ARGUMENT (no device id), and those of
 * section 6. Thread-safe.
 */
int passauth_profiles(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_profile_for_mvpd — REST call GET /api/v2/{serviceProvider}/profiles/{mvpd}: the device's
 * profile for one MVPD (same shape; empty map when there is none). Persisted like passauth_profiles.
 * Needs a device id. Errors: PASSAUTH_E_INVALID_ARGUMENT (empty mvpd, no device id), and those of
 * section 6. Thread-safe.
 */
int passauth_profile_for_mvpd(passauth_client *client, const char *device_json, const char *mvpd, char **out_json);

/*
 * passauth_profile_for_code — REST call GET /api/v2/{serviceProvider}/profiles/code/{code}: the
 * profile created by the login behind `code` (empty map until the user finishes). One request; for
 * repeated checking use the poller below. A profile found is persisted for the device when the device
 * has an id. Errors: PASSAUTH_E_INVALID_ARGUMENT (bad code), and those of section 6. Thread-safe.
 */
int passauth_profile_for_code(passauth_client *client, const char *device_json, const char *code, char **out_json);

/*
 * passauth_profiles_stored — the persisted profile parts of the device (mvpd, attributes, validity,
 * type, issuer) as {"profiles": {...}}, read from the store without a request and without a lock (for
 * example to greet a returning user, or to ask them to confirm their provider after a profile
 * expired). Needs a device id. *out_json is caller-owned.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (no device id), PASSAUTH_E_STORE. Thread-safe.
 */
int passauth_profiles_stored(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_profile_pick — chooses among several profiles the way the checklist suggests: the currently
 * valid one with the latest notAfter. profiles_json is a profiles answer ({"profiles": {...}}).
 * *out_json (caller-owned) is {"mvpd": "...", "profile": {...}}. No request. Uses the local clock (it
 * has no client; prefer passauth_profile_pick_for, which uses the service's time).
 * Errors: PASSAUTH_E_NOT_FOUND (no profile is valid now), PASSAUTH_E_INVALID_ARGUMENT. Thread-safe.
 */
int passauth_profile_pick(const char *profiles_json, char **out_json);

/*
 * passauth_profile_pick_for — as passauth_profile_pick, judged at the service's time as this client
 * estimates it (section 6, clock skew). Errors: as passauth_profile_pick. Thread-safe.
 */
int passauth_profile_pick_for(passauth_client *client, const char *profiles_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * Polling for the profile of a code
 *
 * The poller asks GET /profiles/code/{code} every intervalMs (default "pollIntervalMs"; never less than
 * 3000 whatever is asked) on the library's own threads, and ends the poll:
 *   - with PASSAUTH_OK and the profiles answer when the user finished logging in;
 *   - with PASSAUTH_E_EXPIRED when the code's notAfter passes (at the service's time);
 *   - with PASSAUTH_E_CANCELLED on passauth_poll_cancel / passauth_poll_free, when a newer code is
 *     started for the same device (passauth_session_create or another poll), or when the client is freed;
 *   - with PASSAUTH_E_TIMEOUT when options "timeoutMs" passes;
 *   - with the error's status on a failure the retry policy (section 6) does not retry.
 * A poll ends on time whatever its interval: no request is scheduled past its timeoutMs or its code's
 * notAfter. Transient failures (transport, timeouts, 5xx, "retry" actions) and 429s do not end a poll;
 * they slow it down (up to 30 s between requests, at least the 429's wait), are logged at "warn" with
 * the device id, and show in passauth_poll_info. A 401 renews the access token once and the poll goes on.
 *
 * Any number of polls (tens of thousands) share three threads per client, started with the first poll:
 * passauth-poll keeps every code's timer and never waits for the network, passauth-http runs up to 64
 * requests at once (libcurl multi), passauth-result stores the profiles found and then ends their
 * polls and runs the callbacks. A code has at most one request in flight; the next leaves intervalMs
 * after the answer, so two requests for one code are never closer than 3 s. The first request of a
 * poll leaves at a random moment between intervalMs/4 and intervalMs after the start (never later
 * than its deadline), so polls started together reach the service spread out. With a directory or an
 * application store a poll runs in the process that started it.
 *
 * With a Redis store the polls of a fleet are shared (docs/server-to-server.md, "A fleet"): a poll
 * started on any instance is recorded in Redis, and every instance of the fleet (every client with the
 * same Redis, storeKeyPrefix, base URL and service provider) claims the due ones with a lease, makes
 * their requests and writes back what it learned, so:
 *   - a code is polled by one instance at a time, and never twice within max(intervalMs, 3 s)
 *     fleet-wide (each instance sends what it claimed at once, and the next claim waits for the
 *     interval after the answer, on Redis's clock);
 *   - when an instance dies, its polls come due again when its lease ends (intervalMs plus the request's
 *     timeout, which is at most intervalMs/2 for a fleet's poll request): another instance takes them
 *     over within two intervals, stores the profile it finds, and the record keeps the outcome;
 *   - the callback and passauth_poll_wait of the instance that started a poll end with the profile
 *     whichever instance found it (already in the store: the finder stores it before the poll ends);
 *     several instances may start polls of one code for one device: they share one record and all end;
 *   - a newer code for the device (a session or a poll, on any instance) ends the older poll on every
 *     instance with PASSAUTH_E_CANCELLED;
 *   - passauth_poll_cancel / passauth_poll_free / the poll's own timeoutMs end the local poll; the
 *     record is cancelled when no instance has a poll of it left. passauth_client_free ends the local
 *     polls (PASSAUTH_E_CANCELLED) but leaves their records to the fleet, which goes on polling them and
 *     stores their profiles (a rolling restart loses no login);
 *   - the records hold the device's id, ip, port, userAgent, visitorId, info and tempPassIdentity (what
 *     the poll's requests send), never its SSO or service tokens, and the profiles answer once found.
 * The poller's threads start with the client's first use of Redis, so an instance takes its share of
 * the fleet's polls before it starts one. Redis unreachable: each instance polls the codes it started
 * by itself at their cadence (a warning is logged once per outage), keeps polling a code whose profile
 * it found but could not store, and writes its records again when Redis is back (a Redis that lost its
 * data gets back those of the instances alive; those of an instance that died meanwhile are lost).
 * During the outage a code with polls on several instances may be polled by each of them, each at its
 * own cadence of at least 3 s.
 * ------------------------------------------------------------------------------------------- */

typedef struct passauth_poll passauth_poll;

/*
 * The outcome callback: called exactly once per poll, with the final status and, as result_json, the
 * profiles answer (PASSAUTH_OK) or the error object (the same fields as passauth_last_error()).
 * result_json is valid only during the call. It runs on the passauth-result thread, or on the thread
 * calling passauth_poll_cancel / passauth_poll_free / passauth_client_free (or starting a newer code for
 * the device) when that ends the poll; it may call passauth_poll_cancel and passauth_poll_free on its
 * own poll. On PASSAUTH_OK the profile is already in the store (passauth_profiles_stored sees it). It
 * must not block for long: the deliverer is shared by all polls of the client (a slow callback delays
 * other polls' outcomes, never their requests).
 */
typedef void (*passauth_poll_callback)(void *user_data, int status, const char *result_json);

/*
 * passauth_poll_start — starts polling `code` for the device's profile. Needs a device id (it keys the
 * device's newest code).
 * options_json (may be NULL): {"intervalMs": 4000, "timeoutMs": 600000, "notAfter": <the session's
 * notAfter in ms>}, every key optional. Without notAfter the library uses the one it saw in
 * passauth_session_create, or looks the code up once (GET /sessions/{code}), which also validates it.
 * cb may be NULL (use passauth_poll_wait). On success *out receives a poll the caller must release with
 * passauth_poll_free (after the client is freed too: the handle stays valid).
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (bad code or options, no device id), PASSAUTH_E_CANCELLED (the
 * client is being freed), PASSAUTH_E_INTERNAL (a thread could not start). Thread-safe.
 */
int passauth_poll_start(passauth_client *client, const char *device_json, const char *code, const char *options_json,
                        passauth_poll_callback cb, void *user_data, passauth_poll **out);

/*
 * passauth_poll_wait — waits at most timeout_ms (negative: until the poll ends; every poll ends by its
 * code's notAfter at the latest) for the poll to end.
 *   PASSAUTH_PENDING  the wait ended and the poll goes on (not an error; the last error is untouched):
 *                     wait again, cancel it, or look at passauth_poll_info
 *   PASSAUTH_OK       the user logged in; *out_json (if out_json is not NULL) receives the profiles
 *                     answer (caller-owned)
 *   any PASSAUTH_E_*  how the poll ended (PASSAUTH_E_EXPIRED, _CANCELLED, _TIMEOUT for the poll's own
 *                     timeoutMs, or a failure), with the last error set
 * May be called several times and from several threads; after the poll ended it returns the same
 * outcome at once. Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL poll). Thread-safe.
 */
int passauth_poll_wait(passauth_poll *poll, int timeout_ms, char **out_json);

/*
 * passauth_poll_info — what the poll is doing, without waiting, as a JSON object (caller-owned):
 *   {"code", "state": "pending"|"ended", "status" (the final status once ended), "requests" (made so
 *    far), "nextRequestAt" (ms since the epoch; pending only), "intervalMs" (current, after backoff),
 *    "startedAt", "notAfter" (the code's, when known), "lastError": {error object} (the last failure
 *    met, also transient ones: transport, 5xx, 429)}
 * With a Redis store, "requests" counts the requests of every instance of the fleet as this instance
 * last read the poll's record (at its own requests, at the fleet's events, and at least every two
 * intervals), "nextRequestAt" is the record's due time, "lastError" is this instance's last failure,
 * and "instance" names the instance that made the last request (passauth_stats "fleetInstance").
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL). Thread-safe.
 */
int passauth_poll_info(passauth_poll *poll, char **out_json);

/*
 * passauth_poll_cancel — ends the poll with PASSAUTH_E_CANCELLED (the callback fires, once) unless it has
 * already ended. Safe from any thread, including from inside the callback. NULL is a no-op; cancelling
 * (or waiting on) a poll after passauth_poll_free is undefined behaviour. Thread-safe. No errors (the
 * callback receives PASSAUTH_E_CANCELLED).
 */
void passauth_poll_cancel(passauth_poll *poll);

/*
 * passauth_poll_free — cancels the poll if it is still running, waits until its callback is not running
 * on another thread, and releases the handle. After it returns the library never touches the callback
 * or user_data again. Safe from any thread and from inside the callback (thread-safe). NULL is a no-op;
 * freeing twice is undefined behaviour. No errors.
 */
void passauth_poll_free(passauth_poll *poll);

/* ---------------------------------------------------------------------------------------------
 * 9. Single sign-on, TempPass and degraded access
 *
 * Platform identity SSO and service token SSO need no function of their own: put "subjectToken" (or
 * "rokuConnectToken") or "serviceToken" in the device context and the usual calls carry it. A session
 * then answers actionName "authorize" / reasonType "authenticatedSSO" when the identity already has a
 * profile, and profiles have "type" "platformSSO" or "serviceTokenSSO".
 * TempPass: create a session for the TempPass MVPD (answer "authorize" / reasonType "temporary"),
 * then authorize; decisions have "source": "temppass". For promotional TempPass set "tempPassIdentity"
 * in the device context (authorize requires it). When the TempPass time is used up, decisions are
 * denies with the item-level error "temporary_access_duration_limit_exceeded" (or
 * "temporary_access_resources_limit_exceeded"), and profile calls fail with PASSAUTH_E_SERVICE and that
 * code.
 * Degraded access: decisions with "source": "degradation" and sessions with reasonType "degraded" (and
 * profiles of type "degraded") are normal results; a deny by a degradation rule is the item-level
 * "authorization_denied_by_degradation_rule".
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_session_partner_sso — REST call POST /api/v2/{serviceProvider}/sessions/sso/{partner}: asks
 * the service for the partner authentication request (partner single sign-on, e.g. partner "Apple").
 *   partner      the partner name, non-empty, percent-encoded into the path
 *   params_json  (may be NULL) {"domainName": ..., "redirectUrl": ...}: used by the service when it falls
 *                back to the basic flow; either may be missing (the answer then asks to resume)
 * The device's "partnerFrameworkStatus" is sent as AP-Partner-Framework-Status; without it (or with an
 * unusable one) the service answers a fallback. Needs a device id.
 * *out_json (caller-owned) is the service's answer, normalised like passauth_session_create's:
 *   {"actionName": "partner_profile", "actionType": "direct", "reasonType": "none", "url",
 *    "authenticationRequest": {"type": "saml", "request": "<base64>", "attributesNames": [...]},
 *    "sessionId", "mvpd", "serviceProvider", ...}  -- hand "authenticationRequest" to the partner framework,
 *                                                     then call passauth_profile_partner_sso with its answer
 *   | actionName "authorize" (a profile exists)
 *   | actionName "authenticate" / "resume" with a "code" and reasonType "pfs_fallback",
 *     "configuration_fallback" or "missing_parameters_fallback": continue with the basic flow (the code
 *     ends polls of older codes for this device, as with passauth_session_create).
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL/empty partner, unknown params key, no device id), and those
 * of section 6 (e.g. PASSAUTH_E_SERVICE "invalid_parameter_partner"). Thread-safe.
 */
int passauth_session_partner_sso(passauth_client *client, const char *device_json, const char *partner,
                                 const char *params_json, char **out_json);

/*
 * passauth_profile_partner_sso — REST call POST /api/v2/{serviceProvider}/profiles/sso/{partner}:
 * creates the user's partner profile from the partner authentication response.
 *   partner      as for passauth_session_partner_sso
 *   params_json  {"SAMLResponse": "<base64 partner authentication response>"} (required; the library
 *                URL-encodes it into the form body)
 * Sends the device's "partnerFrameworkStatus". Needs a device id. *out_json (caller-owned) is
 * {"profiles": {"<mvpd>": {"notBefore", "notAfter", "issuer", "type": "appleSSO", "attributes"}}}; the
 * profile is checked like every profiles answer and persisted for the device.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL/empty partner, missing or non-base64 SAMLResponse, no
 * device id), and those of section 6 (e.g. PASSAUTH_E_SERVICE
 * "invalid_header_pfs_permission_access_not_granted", "invalid_parameter_saml_response"). Thread-safe.
 */
int passauth_profile_partner_sso(passauth_client *client, const char *device_json, const char *partner,
                                 const char *params_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * 10. Decisions and logout
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_preauthorize — REST call POST /api/v2/{serviceProvider}/decisions/preauthorize/{mvpd}:
 * which of the resources the user may watch, FOR CONTENT FILTERING ONLY — never use it for playback
 * decisions (Adobe's checklist); call passauth_authorize before every playback.
 *   mvpd            the MVPD id (percent-encoded into the path), non-empty
 *   resources_json  a JSON array of non-empty strings: resource ids, or MRSS documents passed through
 * Lists longer than "preauthorizeBatchSize" (default 5) are sent in several requests, concurrently on
 * the library's connections, and the answers merged. Permits are cached in memory per device, MVPD and
 * resource until their "notAfter" (10 minutes when the service sends none); cached permits are
 * answered without a request (counted as "cacheHits"). Denials are never cached.
 * *out_json (caller-owned, passauth_free), one decision per resource, in the order of resources_json
 * whatever order the service answered in (decisions are matched by resource id):
 *   {"decisions": [{"resource", "serviceProvider", "mvpd", "source": "mvpd"|"degradation"|"temppass"|"dummy",
 *                   "authorized": true|false, "error"?: {"status", "code", "action", "message", "details"?,
 *                   "helpUrl", "trace"?}, "notBefore"?, "notAfter"? (ms numbers)}]}
 * A denied resource is a decision with "authorized": false and its item-level "error", not a failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL, empty mvpd, resources_json not a non-empty array of
 * non-empty strings, no device id), and those of section 6 (e.g. PASSAUTH_E_SERVICE
 * "authenticated_profile_missing", action "authentication"). Thread-safe.
 */
int passauth_preauthorize(passauth_client *client, const char *device_json, const char *mvpd,
                          const char *resources_json, char **out_json);

/*
 * passauth_authorize — REST call POST /api/v2/{serviceProvider}/decisions/authorize/{mvpd}: the
 * authorization decisions for playback. Call it before every playback, whether or not a
 * preauthorization exists; the media token is never cached (each call asks the service).
 *   mvpd, resources_json   as for passauth_preauthorize
 * Resources are sent "authorizeBatchSize" (default 1) per request; several requests run concurrently
 * on the library's connections and their decisions are merged in the order of resources_json.
 * After a permit, the device's stored profile for the MVPD is refreshed in the background (see
 * "profileRefreshMs"), since MVPDs may change attributes at authorization.
 * *out_json (caller-owned, passauth_free), one decision per resource in order:
 *   {"decisions": [{"resource", "serviceProvider", "mvpd", "source": "mvpd"|"degradation"|"temppass"|"dummy",
 *                   "authorized": true, "token": {"notBefore", "notAfter", "serializedToken"},
 *                   "notBefore", "notAfter"}                      -- a permit
 *                 | {..., "authorized": false, "error": {"status", "code", "action", "message",
 *                   "details"?, "helpUrl", "trace"?}, "notBefore"?, "notAfter"?}]}   -- a deny
 * Timestamps are numbers of milliseconds whatever form the service used. "serializedToken" is the
 * base64 media token to hand to the Media Token Verifier; treat it as a secret (the library never
 * puts it in errors, statistics or logs). A deny (item-level "error", e.g.
 * "authorization_denied_by_mvpd", "temporary_access_duration_limit_exceeded") is a normal result.
 * Errors: as passauth_preauthorize. Needs a device id. Thread-safe.
 */
int passauth_authorize(passauth_client *client, const char *device_json, const char *mvpd,
                       const char *resources_json, char **out_json);

/*
 * passauth_logout — REST call GET /api/v2/{serviceProvider}/logout/{mvpd}?redirectUrl=...: ends the
 * user's authentication with the MVPD for this device and says what is left to do.
 *   mvpd          the MVPD id (percent-encoded into the path), non-empty
 *   redirect_url  where the MVPD's logout page sends the user agent back to, non-empty
 * *out_json (caller-owned, passauth_free) is the service's answer:
 *   {"logouts": {"<mvpd>": {"actionName": "logout"|"complete"|"partner_logout"|"invalid",
 *                           "actionType": "interactive"|"none"|"partner_interactive",
 *                           "mvpd", "url"?}}}
 * When "actionType" is "interactive", open "url" in a user agent (browser / second screen) to finish the
 * logout at the MVPD; "none" means nothing is left to do. For a partner SSO profile (type "appleSSO")
 * the answer is "actionName": "partner_logout", "actionType": "partner_interactive": the application
 * must guide the user to sign out of the TV provider in the partner's own settings (on Apple devices:
 * Settings > TV Provider); the library cannot do it. TempPass and degraded profiles answer
 * "complete" / "none". After success the device's stored profile and its cached preauthorization
 * decisions for that MVPD are forgotten (with a Redis store: on every instance of the fleet).
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL or empty mvpd / redirect_url, no device id), and those of
 * section 6. Needs a device id. Thread-safe.
 */
int passauth_logout(passauth_client *client, const char *device_json, const char *mvpd,
                    const char *redirect_url, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * 11. The second screen: QR codes
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_qr_code — the QR code of `text` (typically passauth_authenticate_url's URL) as a module
 * matrix a player can draw, generated locally (libqrencode; nothing leaves the device):
 *   {"size": N, "version": 1..40, "errorCorrection": "M", "rows": ["1010...", ...]}
 * "rows" holds N strings of N characters, '1' for a dark module; draw them with a light quiet zone of
 * 4 modules around. *out_json is caller-owned.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL, empty, or too long for a QR code: more than about 2,300
 * bytes), PASSAUTH_E_INTERNAL. Thread-safe; no client needed.
 */
int passauth_qr_code(const char *text, char **out_json);

#ifdef __cplusplus
}
#endif

#endif /* PASSAUTH_H */
