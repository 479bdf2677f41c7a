/*
 * passauth.h — client for the Adobe Pass Authentication REST API V2 and Dynamic Client Registration.
 *
 * One header, one library (libpassauth.so.0). The library runs the Adobe Pass journey for C/C++
 * players and server-to-server back-ends: registration (DCR), configuration, authentication
 * sessions, profiles, decisions and logout, with the access token, client credentials and profile
 * state persisted for you.
 *
 * Conventions (every function below follows them):
 *
 *   - Status.  Every fallible function returns an int: PASSAUTH_OK (0) on success or a negative
 *     PASSAUTH_E_* code. On failure, passauth_last_error() describes what went wrong; outputs are
 *     left untouched and no stored state (credentials, token, profiles) is changed.
 *
 *   - Order of arguments.  Handle first, inputs next, outputs last.
 *
 *   - Strings.  Inputs are NUL-terminated UTF-8; invalid UTF-8 is PASSAUTH_E_INVALID_ARGUMENT.
 *     JSON inputs are complete JSON documents (an object or an array as documented), never
 *     fragments. Results are JSON documents (or URLs) allocated by the library into a `char **`
 *     out-parameter; the caller owns them and releases them with passauth_free().
 *
 *   - Devices.  `device_json` is a JSON object describing the streaming device a call acts for, or
 *     NULL for the client's default device (the config's "device"). Keys, all optional:
 *       "id"                     stable raw device id (sent as AP-Device-Identifier: fingerprint
 *                                <base64(id)>); required by the calls whose reference page requires
 *                                the header
 *       "info"                   object of X-Device-Info fields (sent base64-encoded JSON)
 *       "ip"                     the device's IP, forwarded as X-Forwarded-For (server-to-server)
 *       "userAgent"              the device's User-Agent
 *       "subjectToken", "rokuConnectToken", "serviceToken", "visitorId"    strings
 *       "partnerFrameworkStatus", "tempPassIdentity"                      objects
 *     Unknown keys, wrong types and CR/LF/NUL in any string are PASSAUTH_E_INVALID_ARGUMENT.
 *
 *   - Threads.  A passauth_client may be used from any number of threads at once. Calls block the
 *     calling thread for at most the configured timeouts; nothing waits forever.
 *
 *   - Secrets.  The client secret, access token, media tokens and SSO tokens never appear in results,
 *     errors, statistics or logs.
 */
#ifndef PASSAUTH_H
#define PASSAUTH_H

#ifdef __cplusplus
extern "C" {
#endif

#define PASSAUTH_VERSION_MAJOR 0
#define PASSAUTH_VERSION_MINOR 1
#define PASSAUTH_VERSION_PATCH 0

/* Status codes. Values are stable across releases; new codes are only ever appended. */
typedef enum passauth_status {
    PASSAUTH_OK = 0,
    PASSAUTH_E_INVALID_ARGUMENT = -1, /* bad input from the caller: NULL, bad UTF-8/JSON, unknown or mistyped key */
    PASSAUTH_E_TRANSPORT = -2,        /* could not talk to the service: DNS, connect, TLS, reset */
    PASSAUTH_E_TIMEOUT = -3,          /* no complete answer within timeoutMs */
    PASSAUTH_E_HTTP = -4,             /* an HTTP error status without an enhanced error body */
    PASSAUTH_E_SERVICE = -5,          /* the service answered with an enhanced error code (see "code", "action") */
    PASSAUTH_E_UNAUTHORIZED = -6,     /* 401 even after refreshing the access token once */
    PASSAUTH_E_THROTTLED = -7,        /* 429 Too Many Requests (see "retryAfterMs") */
    PASSAUTH_E_PROTOCOL = -8,         /* the response was malformed, oversized or not what the API documents */
    PASSAUTH_E_EXPIRED = -9,          /* an authentication code or profile expired */
    PASSAUTH_E_CANCELLED = -10,       /* the operation was cancelled by the caller */
    PASSAUTH_E_REGISTRATION = -11,    /* DCR refused the software statement or client (see "code") */
    PASSAUTH_E_STORE = -12,           /* the persistent store could not be read, locked or written */
    PASSAUTH_E_INTERNAL = -13,        /* a bug or resource exhaustion inside passauth */
    PASSAUTH_E_NOT_FOUND = -14        /* the requested item (profile, code) does not exist */
} passauth_status;

/* A client: one service provider, one registration, any number of devices and threads. */
typedef struct passauth_client passauth_client;

/*
 * passauth_version — the library version as "MAJOR.MINOR.PATCH".
 * Returns a static string; never NULL, never freed. Thread-safe.
 */
const char *passauth_version(void);

/*
 * passauth_status_name — the symbolic name of a status ("PASSAUTH_E_TIMEOUT"), or
 * "PASSAUTH_E_UNKNOWN" for a value not in the enum. Returns a static string. Thread-safe.
 */
const char *passauth_status_name(int status);

/*
 * passauth_last_error — details of the last failed call made on the calling thread, as a JSON object:
 *   "status"        the status code returned (int) and "statusName" its name
 *   "message"       what went wrong, in English, naming the key or endpoint concerned
 *   "httpStatus"    the HTTP status, when the service answered
 *   "code"          the enhanced error code or DCR error ("invalid_client", "authorization_denied_by_mvpd"…)
 *   "action"        the enhanced error action ("retry", "authentication", "configuration"…)
 *   "details", "helpUrl", "trace"   as sent by the service
 *   "retryAfterMs"  how long to wait before the next request (429, 503)
 *   "key"           the config or input key a validation error is about
 *   "endpoint"      the service operation ("register", "token", "configuration"…)
 *   "body"          a short printable excerpt of an unexpected response body
 * Only the fields that apply are present. Before any failure on this thread it is
 * {"status":0,"statusName":"PASSAUTH_OK","message":"no error"}.
 * The string is owned by the library and stays valid until the next failing call on the same thread;
 * do not free it. Thread-safe (each thread has its own). Never contains a secret.
 */
const char *passauth_last_error(void);

/*
 * passauth_free — releases a string the library returned through an out-parameter. NULL is a no-op.
 * Thread-safe.
 */
void passauth_free(void *ptr);

/*
 * passauth_client_new — creates a client from a JSON configuration object. Keys:
 *   "serviceProvider"   string, required: the service provider (requestor) id, e.g. "REF30"
 *   "softwareStatement" string, required: the software statement from the Adobe Pass TVE Dashboard
 *   "environment"       string: "production" (default), "staging", "prequal-production", "prequal-staging"
 *   "baseUrl"           string: overrides "environment" (e.g. the local emulator); plain http is refused
 *                       unless the host is loopback or "allowInsecureHttp" is true
 *   "redirectUri"       string: sent as redirect_uri at registration
 *   "store"             string: directory of the persistent state, one file per service provider
 *                       (default $XDG_STATE_HOME/passauth, else ~/.local/state/passauth); created 0700,
 *                       files 0600
 *   "device"            object: the default device context (see Devices above)
 *   "timeoutMs"         integer: total time allowed for one HTTP exchange (default 30000)
 *   "connectTimeoutMs"  integer: time allowed to connect (default 10000, at most timeoutMs)
 *   "caFile"            string: PEM bundle of the CAs to trust (TLS is always verified)
 *   "allowInsecureHttp" boolean: permit plain http to a non-loopback host (default false)
 *   "pacing"            boolean: client-side throttle, 1 request/s with a burst of 10 per device IP
 *                       (default true)
 *   "logLevel"          string: "none", "error", "warn" (default), "info", "debug", "trace"; logs go to
 *                       stderr and never contain secrets
 *   "maxResponseBytes"  integer: larger responses are refused with PASSAUTH_E_PROTOCOL (default 4 MiB)
 * Unknown keys, wrong types and missing required keys are PASSAUTH_E_INVALID_ARGUMENT with the key
 * named in passauth_last_error(). No network I/O happens here.
 * On success *out receives a client the caller owns and must release with passauth_client_free().
 * Thread-safe.
 */
int passauth_client_new(const char *config_json, passauth_client **out);

/*
 * passauth_client_free — releases a client. NULL is a no-op. The caller must ensure no other thread is
 * still using the client; freeing a client twice is undefined behaviour.
 */
void passauth_client_free(passauth_client *client);

/*
 * passauth_stats — counters of this client since it was created, as a JSON object:
 *   "requests" (per endpoint: "register", "token", "configuration"…), "requestsTotal", "retries",
 *   "unauthorizedRefreshes" (401s answered by a token refresh), "throttled" (429s received),
 *   "cacheHits", "connectionsOpened" (TCP connections), "registrations", "tokenFetches".
 * *out_json is owned by the caller (passauth_free). Thread-safe.
 */
int passauth_stats(passauth_client *client, char **out_json);

/*
 * passauth_register — ensures the client is registered and holds a usable access token.
 * Uses the stored client credentials and token when they are usable (no request at all); otherwise
 * registers (POST /o/client/register, only when no credentials are stored for this software statement)
 * and fetches a token (POST /o/client/token). A token is refreshed shortly before it expires; an
 * invalid_client answer triggers one new registration. Concurrent callers, in this process or in
 * other processes sharing the store, share one registration.
 * Every other call registers implicitly; call this to do it ahead of time or to check the setup.
 * The default device (config "device") provides the X-Device-Info and User-Agent of the DCR calls.
 * *out_json (caller-owned) is {"clientId", "clientIdIssuedAt", "accessTokenExpiresAt" (ms),
 * "registered" (a registration happened now), "tokenFetched" (a token was fetched now)} — no secrets.
 * Errors: PASSAUTH_E_REGISTRATION ("code": invalid_software_statement, unapproved_software_statement,
 * invalid_client…), PASSAUTH_E_STORE, PASSAUTH_E_TRANSPORT, PASSAUTH_E_TIMEOUT, PASSAUTH_E_THROTTLED.
 * Thread-safe.
 */
int passauth_register(passauth_client *client, char **out_json);

/*
 * passauth_configuration — GET /api/v2/{serviceProvider}/configuration: the MVPDs integrated with
 * the service provider, as the service returns them. The checklist asks to call it only when the user
 * must pick a TV provider.
 * *out_json is caller-owned. Thread-safe.
 */
int passauth_configuration(passauth_client *client, const char *device_json, char **out_json);

#ifdef __cplusplus
}
#endif

#endif /* PASSAUTH_H */
