#ifndef PASSAUTH_CJANSSON_SHIM_H
#define PASSAUTH_CJANSSON_SHIM_H
#include <jansson.h>

/* json_decref/json_incref are static inline in jansson.h; wrap them so Swift calls a plain function. */
static inline void passauth_json_decref(json_t *json) { json_decref(json); }
static inline json_t *passauth_json_incref(json_t *json) { return json_incref(json); }
#endif
