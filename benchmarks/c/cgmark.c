/*
 * libcgmark.so — callgrind markers a Python benchmark child calls through ctypes, so that only the calls it
 * measures are instrumented (run under `valgrind --tool=callgrind --instr-atstart=no`):
 *   cgmark_start()  start instrumenting and zero the counters (before the first measured call)
 *   cgmark_dump()   dump the counters as "measured" and stop instrumenting (after the last one)
 * Outside valgrind both do nothing.
 */
#include <valgrind/callgrind.h>

void cgmark_start(void);
void cgmark_dump(void);

void cgmark_start(void) {
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
}

void cgmark_dump(void) {
    CALLGRIND_DUMP_STATS_AT("measured");
    CALLGRIND_STOP_INSTRUMENTATION;
}
