#ifndef PASSAUTH_CSQLITE_SHIM_H
#define PASSAUTH_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import: bind text through
 * these (SQLite copies the bytes before returning). */
static inline int passauth_sqlite3_bind_text(sqlite3_stmt *statement, int index, const char *text, int bytes) {
    return sqlite3_bind_text(statement, index, text, bytes, SQLITE_TRANSIENT);
}
#endif
