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
 *       "subjectToken"           platform identity SSO token, sent as Adobe-Subject-Token
 *       "rokuConnectToken"       Roku platform SSO token, sent as X-Roku-Reserved-Roku-Connect-Token;
 *                                the two are alternatives: when both are set only "subjectToken" is sent
 *       "serviceToken"           service token SSO, sent as AD-Service-Token
 *       "partnerFrameworkStatus" partner SSO (Apple) status, sent base64-encoded as
 *                                AP-Partner-Framework-Status. The object the header's reference page
 *                                defines:
 *                                  {"frameworkPermissionInfo": {"accessStatus": "granted"|"denied"|
 *                                      "restricted"|"notDetermined", "error"?: {"code", "message"}},
 *                                   "frameworkProviderInfo": {"id": "<MVPD platform mapping id>",
 *                                      "expirationDate": "<ms since the epoch>", "error"?: {"code", "message"}}}
 *                                both members required; "id" and "expirationDate" required when
 *                                accessStatus is "granted"; expirationDate may be an integer and is
 *                                sent as a string of milliseconds
 *       "tempPassIdentity"       promotional TempPass: the user's identity fields, a non-empty object of
 *                                non-empty strings (e.g. {"email": "user@example.com"}), sent
 *                                base64-encoded JSON as AP-TempPass-Identity
 *       "visitorId"              sent as AP-Visitor-Identifier
 *     Unknown keys (also inside the two objects), wrong types and CR/LF/NUL in any string sent as a
 *     header value as it is are PASSAUTH_E_INVALID_ARGUMENT (the values inside "info" and
 *     "tempPassIdentity" travel base64-encoded and may hold any text).
 *     Each call sends only the device headers its reference page lists (Adobe's checklist: send only
 *     expected headers); values a call does not accept are left out, silently:
 *       configuration                   AP-Device-Identifier, X-Device-Info, X-Forwarded-For, User-Agent
 *       session_create, logout          those + AP-Visitor-Identifier, the platform identity, AD-Service-Token
 *       session_resume, session_get     X-Forwarded-For, User-Agent, AP-Visitor-Identifier
 *       profiles, preauthorize          as session_create + AP-Partner-Framework-Status
 *       profile_for_mvpd, authorize     as profiles + AP-TempPass-Identity
 *       profile_for_code (and polling)  X-Forwarded-For, User-Agent, AP-Visitor-Identifier, AP-TempPass-Identity
 *       session_partner_sso, profile_partner_sso   AP-Device-Identifier, X-Device-Info, X-Forwarded-For,
 *                                       User-Agent, AP-Visitor-Identifier, AP-Partner-Framework-Status
 *
 *   - Threads.  A passauth_client may be used from any number of threads at once. Calls block the
 *     calling thread for at most the configured timeouts; nothing waits forever.
 *
 *   - Secrets.  The client secret, access token, media tokens and SSO tokens never appear in results
 *     (other than the media token of an authorization), errors, statistics or logs, even when a server
 *     echoes them back: a client scrubs its configuration's secrets, its current credentials and the
 *     1,024 most recent media tokens, SSO tokens and replaced credentials, so its memory stays bounded.
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
 * Freeing a string twice, or a pointer the library did not return, is undefined behaviour. Thread-safe.
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
 *   "pacing"            boolean: client-side throttle, a token bucket per device IP (the device's "ip",
 *                       else its "id") so that the service's throttle (1 request/s, burst 10) never
 *                       answers 429: callers are delayed, not failed, unless the wait exceeds timeoutMs
 *                       (default true)
 *   "pacingRatePerSecond" number > 0 and <= 1000: the bucket's refill rate, requests per second per
 *                       device (default 1)
 *   "pacingBurst"       integer 1..1000: the bucket's size, requests a device may send at once (default 10)
 *   "logLevel"          string: "none", "error", "warn" (default), "info", "debug", "trace"; logs go to
 *                       stderr and never contain secrets
 *   "maxResponseBytes"  integer: larger responses are refused with PASSAUTH_E_PROTOCOL (default 4 MiB)
 *   "configurationCacheMs" integer: how long a configuration answer is reused (default 240000; 0 = off)
 *   "pollIntervalMs"    integer: default polling interval, 3000..60000 (default 4000)
 *   "preauthorizeBatchSize" integer 1..50: resources per preauthorization request; longer lists are split
 *                       into several requests whose answers are merged in order (default 5)
 * Unknown keys, wrong types and missing required keys are PASSAUTH_E_INVALID_ARGUMENT with the key
 * named in passauth_last_error(). No network I/O happens here.
 * On success *out receives a client the caller owns and must release with passauth_client_free().
 * Thread-safe.
 */
int passauth_client_new(const char *config_json, passauth_client **out);

/*
 * passauth_store — a persistent store supplied by the application, for state shared by several
 * service instances (processes or hosts): DCR client credentials, the access token, MVPD selections
 * and stored profiles. The library keeps one JSON document per service provider and never interprets
 * keys of its own in the store: the callbacks only move that document.
 *   load    sets *out_json to the stored document, allocated with malloc(3) (the library releases it
 *           with free(3)), or to NULL when nothing is stored yet; returns 0, or non-zero on failure.
 *   save    replaces the document with `json` atomically (a later load sees the old or the new
 *           document, never a mix); returns 0, or non-zero on failure.
 *   lock    acquires the store's exclusive lock for the service provider (across threads, processes
 *           and hosts), waiting at most timeout_ms; may set *out_token to anything (a lease id) that
 *           unlock then receives; returns 0 when held, non-zero on failure or timeout.
 *   unlock  releases the lock taken by the lock call that produced `token`. Its result is ignored: a
 *           lock that cannot be released must expire in the store (e.g. a lease of a few minutes;
 *           it is held across at most one registration, i.e. two requests of at most timeoutMs each).
 * The library calls load/save under lock when it changes the document, load alone when it reads it.
 * A non-zero return, or a loaded document that is not a passauth state, fails the call with
 * PASSAUTH_E_STORE (the message names the callback and its return value); nothing is saved then, so a
 * store outage fails calls but never corrupts the state. Callbacks may be called from any thread, also
 * concurrently, and must not call back into the library.
 */
typedef struct passauth_store {
    void *user_data;
    int (*load)(void *user_data, const char *service_provider, char **out_json);
    int (*save)(void *user_data, const char *service_provider, const char *json);
    int (*lock)(void *user_data, const char *service_provider, int timeout_ms, void **out_token);
    int (*unlock)(void *user_data, const char *service_provider, void *token);
} passauth_store;

/*
 * passauth_client_new_with_store — as passauth_client_new, with the state kept in `store` instead of the
 * file store (the config's "store" directory is then unused). The store is chosen at creation and never
 * changes for the client's life. *store is copied (the struct may be released after the call);
 * user_data and the callbacks must stay valid until passauth_client_free returns. All four callbacks
 * are required (PASSAUTH_E_INVALID_ARGUMENT otherwise). No callback is called here. Thread-safe.
 */
int passauth_client_new_with_store(const char *config_json, const passauth_store *store, passauth_client **out);

/*
 * passauth_client_free — releases a client. NULL is a no-op. The caller must ensure no other thread is
 * still using the client; freeing a client twice, or using it after it was freed, is undefined behaviour.
 * Polls of the client stay valid handles (see passauth_poll_start).
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

/* ---------------------------------------------------------------------------------------------
 * Configuration phase
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_configuration — GET /api/v2/{serviceProvider}/configuration: the MVPDs integrated with
 * the service provider, as the service returns them ({"requestor": {"mvpds": [...]}, ...}). The
 * checklist asks to call it only when the user must pick a TV provider. Answers are cached in memory
 * for "configurationCacheMs" per distinct X-Device-Info (a cache hit makes no request and counts in
 * the "cacheHits" statistic).
 * *out_json is caller-owned. Thread-safe.
 */
int passauth_configuration(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_mvpds — the configuration's MVPDs for a TV-provider picker, filtered:
 *   filter_json (may be NULL = everything): {"tempPass": false  (leave out TempPass MVPDs),
 *   "proxy": false (leave out proxied MVPDs), "exclude": ["id", ...] (e.g. test MVPDs),
 *   "search": "spec" (case-insensitive substring of id or displayName)}; every key optional.
 * *out_json (caller-owned) is {"mvpds": [ ...MVPD objects as in the configuration... ]}.
 * Uses passauth_configuration (and its cache). Thread-safe.
 */
int passauth_mvpds(passauth_client *client, const char *device_json, const char *filter_json, char **out_json);

/*
 * passauth_mvpd_select — records the user's TV provider choice for the device in the persistent store
 * (the checklist's "TV Provider Selection Caching"): mvpd_json is an MVPD object from the
 * configuration; its "id" (required), "displayName" and "logoUrl" are kept. Thread-safe; concurrent
 * writers (threads or processes) are serialised by the store lock.
 */
int passauth_mvpd_select(passauth_client *client, const char *device_json, const char *mvpd_json);

/*
 * passauth_mvpd_selected — the device's recorded choice ({"id", "displayName", "logoUrl"}), read from
 * the store without a request; PASSAUTH_E_NOT_FOUND when none was recorded. *out_json is caller-owned.
 */
int passauth_mvpd_selected(passauth_client *client, const char *device_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * Authentication phase
 *
 * Codes are validated before use: 1-64 letters, digits, '-' or '_' (surrounding whitespace is
 * ignored); anything else is PASSAUTH_E_INVALID_ARGUMENT without a request. Session and profile
 * results are the service's JSON with notBefore/notAfter always numbers of milliseconds and "url"
 * made absolute.
 * ------------------------------------------------------------------------------------------- */

/*
 * passauth_session_create — POST /api/v2/{serviceProvider}/sessions.
 * params_json (may be NULL): {"mvpd": ..., "domainName": ..., "redirectUrl": ...}, any of them missing
 * (the answer then says actionName "resume" with "missingParameters"). Needs a device "id".
 * *out_json (caller-owned): {"actionName": "authenticate"|"resume"|"authorize", "actionType":
 * "interactive"|"direct", "reasonType": "none"|"authenticated"|"temporary"|"degraded"|"authenticatedSSO",
 * "missingParameters": [...], "url": absolute URL, "code", "sessionId", "mvpd", "serviceProvider",
 * "notBefore", "notAfter"}.
 * A new code ends, at once, any poll of an older code for the same device (PASSAUTH_E_CANCELLED).
 * Thread-safe.
 */
int passauth_session_create(passauth_client *client, const char *device_json, const char *params_json, char **out_json);

/*
 * passauth_session_resume — POST /api/v2/{serviceProvider}/sessions/{code} with the parameters the
 * session reported missing (params_json as for passauth_session_create). On a second screen with a
 * preselected MVPD, this is also how a typed-in code is validated. Same result shape. Thread-safe.
 */
int passauth_session_resume(passauth_client *client, const char *device_json, const char *code,
                            const char *params_json, char **out_json);

/*
 * passauth_session_get — GET /api/v2/{serviceProvider}/sessions/{code}: the session behind a code.
 * Use it to validate a code typed on a second screen before opening the authentication URL; an unknown
 * or expired code fails with PASSAUTH_E_SERVICE ("code": "invalid_authentication_session").
 * Thread-safe.
 */
int passauth_session_get(passauth_client *client, const char *device_json, const char *code, char **out_json);

/*
 * passauth_authenticate_url — the URL a user agent opens to log in with the MVPD for `code`:
 * {base}/api/v2/authenticate/{serviceProvider}/{code}. Works for the first screen's browser and for a
 * second-screen app alike. No request is made. *out_url is caller-owned. Thread-safe.
 */
int passauth_authenticate_url(passauth_client *client, const char *code, char **out_url);

/*
 * passauth_profiles — GET /api/v2/{serviceProvider}/profiles: every valid profile of the device,
 * {"profiles": {"<mvpd>": {"notBefore", "notAfter", "issuer", "type", "attributes"}, ...}} (the map may
 * be empty). The profile parts the checklist names are persisted for the device (see
 * passauth_profiles_stored). Needs a device "id". Thread-safe.
 */
int passauth_profiles(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_profile_for_mvpd — GET /api/v2/{serviceProvider}/profiles/{mvpd}: the device's profile for
 * one MVPD (same shape; empty map when there is none). Needs a device "id". Thread-safe.
 */
int passauth_profile_for_mvpd(passauth_client *client, const char *device_json, const char *mvpd, char **out_json);

/*
 * passauth_profile_for_code — GET /api/v2/{serviceProvider}/profiles/code/{code}: the profile created by
 * the login behind `code` (empty map until the user finishes). One request; for repeated checking use
 * the poller below. Thread-safe.
 */
int passauth_profile_for_code(passauth_client *client, const char *device_json, const char *code, char **out_json);

/*
 * passauth_profiles_stored — the persisted profile parts of the device (mvpd, attributes, validity,
 * type, issuer) as {"profiles": {...}}, read from the store without a request (for example to greet a
 * returning user, or to ask them to confirm their provider after a profile expired). Thread-safe.
 */
int passauth_profiles_stored(passauth_client *client, const char *device_json, char **out_json);

/*
 * passauth_profile_pick — chooses among several profiles the way the checklist suggests: the currently
 * valid one with the latest notAfter. profiles_json is a profiles answer ({"profiles": {...}}).
 * *out_json (caller-owned) is {"mvpd": "...", "profile": {...}}; PASSAUTH_E_NOT_FOUND when no profile
 * is valid now. No request. Thread-safe.
 */
int passauth_profile_pick(const char *profiles_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * Single sign-on, TempPass and degraded access
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
 * passauth_session_partner_sso — POST /api/v2/{serviceProvider}/sessions/sso/{partner}: asks the service
 * for the partner authentication request (partner single sign-on, e.g. partner "Apple").
 *   partner      the partner name, non-empty, percent-encoded into the path
 *   params_json  (may be NULL) {"domainName": ..., "redirectUrl": ...}: used by the service when it falls
 *                back to the basic flow; either may be missing (the answer then asks to resume)
 * The device's "partnerFrameworkStatus" is sent as AP-Partner-Framework-Status; without it (or with an
 * unusable one) the service answers a fallback. Needs a device "id".
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
 * listed for every REST call (e.g. PASSAUTH_E_SERVICE "invalid_parameter_partner"). Thread-safe.
 */
int passauth_session_partner_sso(passauth_client *client, const char *device_json, const char *partner,
                                 const char *params_json, char **out_json);

/*
 * passauth_profile_partner_sso — POST /api/v2/{serviceProvider}/profiles/sso/{partner}: creates the
 * user's partner profile from the partner authentication response.
 *   partner      as for passauth_session_partner_sso
 *   params_json  {"SAMLResponse": "<base64 partner authentication response>"} (required; the library
 *                URL-encodes it into the form body)
 * Sends the device's "partnerFrameworkStatus". Needs a device "id". *out_json (caller-owned) is
 * {"profiles": {"<mvpd>": {"notBefore", "notAfter", "issuer", "type": "appleSSO", "attributes"}}}; the
 * profile is persisted for the device like the other profile answers.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL/empty partner, missing or non-base64 SAMLResponse),
 * PASSAUTH_E_SERVICE (e.g. "invalid_header_pfs_permission_access_not_granted",
 * "invalid_parameter_saml_response"), and those listed for every REST call. Thread-safe.
 */
int passauth_profile_partner_sso(passauth_client *client, const char *device_json, const char *partner,
                                 const char *params_json, char **out_json);

/* ---------------------------------------------------------------------------------------------
 * Polling for the profile of a code
 *
 * The poller asks GET /profiles/code/{code} every intervalMs (default "pollIntervalMs"; never less than
 * 3000 whatever is asked) on the library's own threads, and ends the poll:
 *   - with PASSAUTH_OK and the profiles answer when the user finished logging in;
 *   - with PASSAUTH_E_EXPIRED when the code's notAfter passes;
 *   - with PASSAUTH_E_CANCELLED on passauth_poll_cancel / passauth_poll_free, when a newer code is
 *     started for the same device (passauth_session_create or another poll), or when the client is freed;
 *   - with PASSAUTH_E_TIMEOUT when options "timeoutMs" passes;
 *   - with the error's status on a non-retryable error.
 * Transient failures (transport, timeouts, 5xx, "retry" actions) and 429s do not end a poll; they slow
 * it down (up to 30 s between requests, at least the 429's wait). A 401 renews the access token once and
 * the poll goes on.
 *
 * Any number of polls (tens of thousands) share three threads per client, started with the first poll:
 * passauth-poll keeps every code's timer and never waits for the network, passauth-http runs up to 64
 * requests at once (libcurl multi), passauth-result stores the profiles found (one store write for all
 * found meanwhile) and then ends their polls and runs the callbacks. A code has at most one request in
 * flight; the next leaves intervalMs after the answer, so two requests for one code are never closer
 * than 3 s. The first request of a poll leaves at a random moment between intervalMs/4 and intervalMs
 * after the start, so polls started together reach the service spread out.
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
 * passauth_poll_start — starts polling `code` for the device's profile.
 * options_json (may be NULL): {"intervalMs": 4000, "timeoutMs": 600000, "notAfter": <the session's
 * notAfter in ms>}, every key optional. Without notAfter the library uses the one it saw in
 * passauth_session_create, or looks the code up once (GET /sessions/{code}), which also validates it.
 * cb may be NULL (use passauth_poll_wait). On success *out receives a poll the caller must release with
 * passauth_poll_free (after the client is freed too: the handle stays valid). Thread-safe.
 */
int passauth_poll_start(passauth_client *client, const char *device_json, const char *code, const char *options_json,
                        passauth_poll_callback cb, void *user_data, passauth_poll **out);

/*
 * passauth_poll_wait — blocks until the poll ends or timeout_ms passes (negative: until it ends; every
 * poll ends by its code's notAfter at the latest). Returns the poll's final status (and sets the last
 * error when it is a failure); on PASSAUTH_OK, *out_json (if out_json is not NULL) receives the
 * profiles answer (caller-owned). When timeout_ms passes first it returns PASSAUTH_E_TIMEOUT and the
 * poll goes on. May be called several times and from several threads.
 */
int passauth_poll_wait(passauth_poll *poll, int timeout_ms, char **out_json);

/*
 * passauth_poll_cancel — ends the poll with PASSAUTH_E_CANCELLED (the callback fires, once) unless it has
 * already ended. Safe from any thread, including from inside the callback. NULL is a no-op; cancelling
 * (or waiting on) a poll after passauth_poll_free is undefined behaviour.
 */
void passauth_poll_cancel(passauth_poll *poll);

/*
 * passauth_poll_free — cancels the poll if it is still running, waits until its callback is not running
 * on another thread, and releases the handle. After it returns the library never touches the callback
 * or user_data again. Safe from any thread and from inside the callback. NULL is a no-op; freeing twice
 * is undefined behaviour.
 */
void passauth_poll_free(passauth_poll *poll);

/* ---------------------------------------------------------------------------------------------
 * Decisions and logout
 *
 * Errors and retries of every REST API V2 call (the calls below and those above).
 *   A top-level enhanced error is PASSAUTH_E_SERVICE with "code", "action", "httpStatus", "message",
 *   "details", "helpUrl", "trace" in passauth_last_error(); an HTTP error without an enhanced body is
 *   PASSAUTH_E_HTTP with "httpStatus" and a "body" excerpt; 401 after one token refresh is
 *   PASSAUTH_E_UNAUTHORIZED; 429 is PASSAUTH_E_THROTTLED with "retryAfterMs".
 *   The library retries by itself, at most 3 attempts per call in all, never in a loop:
 *     - "action": "retry", HTTP 5xx and transport failures: after a backoff with jitter (0.1-2 s);
 *     - 429: the next request for that device (keyed by its "ip", else its "id") waits at least 1 s,
 *       or Retry-After if longer, then the call is tried again; a wait longer than timeoutMs fails at
 *       once with PASSAUTH_E_THROTTLED and "retryAfterMs";
 *     - "action": "application-registration" (other than a 401): the client registers again once.
 *   "authentication" (log the user in again), "authorization", "configuration" and "none" are returned
 *   to the caller at once. A timeout is never retried. passauth_stats() counts "retries" and "throttled".
 */

/*
 * passauth_preauthorize — POST /api/v2/{serviceProvider}/decisions/preauthorize/{mvpd}: which of the
 * resources the user may watch, FOR CONTENT FILTERING ONLY — never use it for playback decisions
 * (Adobe's checklist); call passauth_authorize before every playback.
 *   mvpd            the MVPD id (percent-encoded into the path), non-empty
 *   resources_json  a JSON array of non-empty strings: resource ids, or MRSS documents passed through
 * Lists longer than the config's "preauthorizeBatchSize" (default 5) are sent in several requests and
 * the answers merged in the order of resources_json. Permits are cached in memory per device, MVPD and
 * resource until their "notAfter" (10 minutes when the service sends none); cached permits are
 * answered without a request (counted as "cacheHits"). Denials are never cached.
 * *out_json (caller-owned, passauth_free) is the service's answer, one decision per resource in order:
 *   {"decisions": [{"resource", "serviceProvider", "mvpd", "source": "mvpd"|"degradation"|"temppass"|"dummy",
 *                   "authorized": true|false, "error"?: {"status", "code", "action", "message", "details"?,
 *                   "helpUrl", "trace"?}, "notBefore"?, "notAfter"? (ms numbers)}]}
 * A denied resource is a decision with "authorized": false and its item-level "error", not a failure.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL, empty mvpd, resources_json not a non-empty array of
 * non-empty strings, no device id), PASSAUTH_E_SERVICE (e.g. "authenticated_profile_missing", action
 * "authentication"), and those listed above. Requires a device id. Thread-safe.
 */
int passauth_preauthorize(passauth_client *client, const char *device_json, const char *mvpd,
                          const char *resources_json, char **out_json);

/*
 * passauth_authorize — POST /api/v2/{serviceProvider}/decisions/authorize/{mvpd}: the authorization
 * decisions for playback. Call it before every playback, whether or not a preauthorization exists; the
 * media token is never cached (each call asks the service) and never logged.
 *   mvpd, resources_json   as for passauth_preauthorize (one request, whatever the number of resources)
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
 * Errors: as passauth_preauthorize. Requires a device id. Thread-safe.
 */
int passauth_authorize(passauth_client *client, const char *device_json, const char *mvpd,
                       const char *resources_json, char **out_json);

/*
 * passauth_logout — GET /api/v2/{serviceProvider}/logout/{mvpd}?redirectUrl=...: ends the user's
 * authentication with the MVPD for this device and says what is left to do.
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
 * "complete" / "none". After success the device's stored profile
 * and its cached preauthorization decisions for that MVPD are forgotten.
 * Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL or empty mvpd / redirect_url, no device id),
 * PASSAUTH_E_STORE, and those listed above. Requires a device id. Thread-safe.
 */
int passauth_logout(passauth_client *client, const char *device_json, const char *mvpd,
                    const char *redirect_url, char **out_json);

#ifdef __cplusplus
}
#endif

#endif /* PASSAUTH_H */
