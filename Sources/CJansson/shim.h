#ifndef PASSAUTH_CJANSSON_SHIM_H
#define PASSAUTH_CJANSSON_SHIM_H
#include <jansson.h>

/* json_decref is static inline in jansson.h; wrap it so Swift calls a plain function. */
static inline void passauth_json_decref(json_t *json) { json_decref(json); }
#endif
