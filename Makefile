# passauth — build, test, demo and install. `make help` lists the targets.
SHELL         := /bin/bash
VERSION       := 0.1.0
SONAME        := libpassauth.so.0
PREFIX        ?= /usr/local
PYTHON        ?= python3
export PATH   := $(PATH):/opt/swift/usr/bin

SWIFT_BUILD   := .build/release
OUT           := build
LIBDIR        := $(OUT)/lib
LIB           := $(LIBDIR)/libpassauth.so.$(VERSION)
PYLIB         := bindings/python/passauth/lib/$(SONAME)
CLI           := $(OUT)/bin/passauth
CXX           ?= g++
CXXFLAGS      := -std=c++17 -Wall -Wextra -Werror -O2 -g -IInclude -Ibindings/cpp
CFLAGS        += -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -IInclude
TEST_LDLIBS   := -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth -lcurl -ljansson -lsqlite3 -lpthread
PYPATH        := PYTHONPATH=$(abspath bindings/python) PASSAUTH_LIBRARY=$(abspath $(LIBDIR)/$(SONAME))

C_TESTS       := $(patsubst tests/c/%.c,$(OUT)/tests/%,$(filter-out tests/c/harness.c,$(wildcard tests/c/test_*.c)))
C_EXAMPLES    := $(OUT)/examples/player
CPP_EXAMPLES  := $(OUT)/examples/cpp-journey
CPP_TESTS     := $(OUT)/tests/test_wrapper

.PHONY: all help bootstrap build python-lib test test-abi test-swift test-c test-cpp test-python test-cli test-install test-store-scale \
        demo emulator install clean bench bench-programs fuzz fuzz-build test-fuzz asan asan-swift tsan memcheck helgrind soak

all: build

help:
	@echo "make demo      set up, build and run the journey against the local emulator (C, Python, the C player, C++, the passauth command)"
	@echo "make test      build everything and run the Swift, C, C++, Python, CLI and install tests"
	@echo "make build     build $(LIB) (+ SONAME symlinks) and the passauth command $(CLI)"
	@echo "make bench     build and run the benchmarks (benchmarks/README.md): one table, under 10 minutes"
	@echo "make emulator  run the Adobe Pass emulator on http://127.0.0.1:8642"
	@echo "make fuzz      build the libFuzzer targets and run each for FUZZ_RUNS (1,000,000) executions"
	@echo "make asan      every C test built with AddressSanitizer + UBSan (LeakSanitizer on), then the Swift tests under ASan"
	@echo "make tsan      the Swift tests, then the 16-thread C stress test, under ThreadSanitizer"
	@echo "make memcheck  every C test under valgrind memcheck (definite leaks and memory errors fail)"
	@echo "make helgrind  the 16-thread stress test under valgrind helgrind: fails on any report not in tests/helgrind.supp"
	@echo "make soak      long runs: 2,000 SIGKILLs of a store writer, a long stress run, make fuzz"
	@echo "make install   install library, headers (C, C++), pkg-config file and the passauth command under PREFIX=$(PREFIX)"

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap $(LIB) python-lib $(CLI)

# A copy of the library inside the Python package, so that `pip install ./bindings/python` bundles it.
python-lib: $(PYLIB)

$(PYLIB): $(LIB)
	@mkdir -p $(dir $@)
	cp $(LIB) $@.tmp && mv -f $@.tmp $@

$(LIB): Package.swift $(shell find Sources Include -type f -not -path "Sources/passauth-cli/*")
	swift build -c release --product passauth
	@mkdir -p $(LIBDIR)
	cp $(SWIFT_BUILD)/libpassauth.so $(LIB).tmp && mv -f $(LIB).tmp $(LIB)
	ln -sf libpassauth.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libpassauth.so

# The passauth command: a Swift executable over the core, Swift runtime linked statically. Built after
# the library (one SwiftPM build at a time shares .build).
$(CLI): Package.swift $(shell find Sources -type f) | $(LIB)
	swift build -c release --product passauth-cli
	@mkdir -p $(dir $@)
	cp $(SWIFT_BUILD)/passauth-cli $@

$(OUT)/tests/%: tests/c/%.c tests/c/harness.c tests/c/harness.h Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/c/harness.c $(TEST_LDLIBS)

$(OUT)/examples/%: examples/c/%.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth -ljansson

$(OUT)/examples/cpp-journey: examples/cpp/journey.cpp bindings/cpp/passauth.hpp Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $< -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth

$(OUT)/tests/harness.o: tests/c/harness.c tests/c/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/tests/test_wrapper: tests/cpp/test_wrapper.cpp $(OUT)/tests/harness.o bindings/cpp/passauth.hpp Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -Itests/c -o $@ $< $(OUT)/tests/harness.o $(TEST_LDLIBS)

test: build
	@$(MAKE) --no-print-directory test-abi test-swift test-c test-cpp test-python test-cli test-install test-fuzz test-store-scale

test-abi: $(LIB)
	tests/abi/test_shared_object.sh $(LIB) Include/passauth.h

test-swift:
	swift test

test-c: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; $(PYPATH) $$t; done

test-cpp: $(CPP_TESTS) $(CPP_EXAMPLES)
	@set -e; for t in $(CPP_TESTS); do echo "== $$t"; $(PYPATH) $$t; done

test-cli: $(CLI)
	$(PYPATH) PASSAUTH_CLI=$(abspath $(CLI)) $(PYTHON) -m pytest -q tests/cli

test-install: $(LIB) $(CLI)
	$(PYPATH) PYTHON=$(PYTHON) tests/install/test_install.sh

# The state layer's write cost stays flat with the number of devices stored (benchmarks/store_scale.swift).
test-store-scale: $(OUT)/bench/store_scale
	$(OUT)/bench/store_scale --devices 1000,100000 --writes 201 --check

test-python:
	cd bindings/python && $(PYPATH) $(PYTHON) -m pytest -q tests

demo: build $(C_EXAMPLES) $(CPP_EXAMPLES)
	@$(PYPATH) $(PYTHON) scripts/demo.py $(abspath $(OUT)/examples) $(abspath $(CLI))

# Benchmarks (benchmarks/README.md): C programs in build/bench/, then benchmarks/run.py prints one table.
BENCH_PROGRAMS := $(OUT)/bench/authorize_bench $(OUT)/bench/footprint $(OUT)/bench/poll_driver $(OUT)/bench/store_scale \
                  $(patsubst benchmarks/%.c,$(OUT)/bench/%,$(wildcard benchmarks/s2s_*.c))

bench: build bench-programs
	$(PYPATH) $(PYTHON) benchmarks/run.py

bench-programs: $(BENCH_PROGRAMS)

$(OUT)/bench/authorize_bench: benchmarks/c/authorize_bench.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

$(OUT)/bench/poll_driver: benchmarks/c/poll_driver.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

# store_scale: the core's sources and the benchmark compiled as one module (it calls the state layer
# directly, as the fuzz targets do), optimised, without sanitizers.
BENCH_SWIFT   := $(OUT)/bench/swift

$(BENCH_SWIFT)/ccurl.o: Sources/CCurl/ccurl.c Sources/CCurl/include/ccurl.h
	@mkdir -p $(BENCH_SWIFT)/ccurl
	printf 'module CCurl {\n    header "%s/Sources/CCurl/include/ccurl.h"\n    link "curl"\n    export *\n}\n' \
	    "$(abspath .)" > $(BENCH_SWIFT)/ccurl/module.modulemap
	$(CC) -c -O2 -ISources/CCurl/include -o $@ $<

$(OUT)/bench/store_scale: benchmarks/store_scale.swift $(shell find Sources/PassAuthCore -name "*.swift") $(BENCH_SWIFT)/ccurl.o
	swiftc -O -parse-as-library -module-name PassAuthCore -I Sources/CJansson -I Sources/CSQLite -I Sources/COpenSSL \
	    -I $(BENCH_SWIFT)/ccurl $(shell find Sources/PassAuthCore -name "*.swift") benchmarks/store_scale.swift \
	    $(BENCH_SWIFT)/ccurl.o -lcurl -ljansson -lsqlite3 -lcrypto -o $@

$(OUT)/bench/footprint: benchmarks/c/footprint.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -ldl

$(OUT)/bench/s2s_%: benchmarks/s2s_%.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

emulator:
	$(PYPATH) $(PYTHON) -m passauth.emulator --port 8642

install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpassauth.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libpassauth.so
	install -m 0644 Include/passauth.h bindings/cpp/passauth.hpp $(DESTDIR)$(PREFIX)/include/
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/passauth
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' passauth.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/passauth.pc

clean:
	rm -rf $(OUT) .build $(dir $(PYLIB))

# --- hardening (issue 11): fuzzing, valgrind, soak ------------------------------------------------
CLANG         ?= /opt/swift/usr/bin/clang
SWIFTC        ?= swiftc
FUZZ_RUNS     ?= 1000000
FUZZ_SHORT    ?= 20000
FUZZ_DIR      ?= $(OUT)/fuzz
FUZZ_TARGETS  := $(FUZZ_DIR)/fuzz_json_inputs $(FUZZ_DIR)/fuzz_caller_inputs $(FUZZ_DIR)/fuzz_responses
VALGRIND      := valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite \
                 --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp

# Caller JSON through the C ABI (the library as built, linked into an ASan+libFuzzer harness).
$(FUZZ_DIR)/fuzz_json_inputs: fuzz/fuzz_json_inputs.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CLANG) -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address -fuse-ld=lld -IInclude -o $@ $< \
	    -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth

# Swift targets: the core's sources and one harness compiled as one module with
# `swiftc -sanitize=fuzzer,address` (coverage-guided over the Swift decoders themselves).
# fuzz_responses: every service-response decoder; fuzz_caller_inputs: every caller-JSON decoder.
$(FUZZ_DIR)/ccurl.o: Sources/CCurl/ccurl.c Sources/CCurl/include/ccurl.h
	@mkdir -p $(FUZZ_DIR)/ccurl
	printf 'module CCurl {\n    header "%s/Sources/CCurl/include/ccurl.h"\n    link "curl"\n    export *\n}\n' \
	    "$(abspath .)" > $(FUZZ_DIR)/ccurl/module.modulemap
	$(CLANG) -c -O1 -g -fsanitize=address,fuzzer-no-link -ISources/CCurl/include -o $@ $<

$(FUZZ_DIR)/fuzz_responses: fuzz/FuzzResponses.swift
$(FUZZ_DIR)/fuzz_caller_inputs: fuzz/FuzzCallerInputs.swift
$(FUZZ_DIR)/fuzz_responses $(FUZZ_DIR)/fuzz_caller_inputs: $(shell find Sources/PassAuthCore -name "*.swift") $(FUZZ_DIR)/ccurl.o
	$(SWIFTC) -O -g -parse-as-library -module-name PassAuthCore -sanitize=fuzzer,address \
	    -I Sources/CJansson -I Sources/CSQLite -I Sources/COpenSSL -I $(FUZZ_DIR)/ccurl \
	    $(shell find Sources/PassAuthCore -name "*.swift") $(filter fuzz/%.swift,$^) \
	    $(FUZZ_DIR)/ccurl.o -lcurl -ljansson -lsqlite3 -lcrypto -o $@

fuzz-build: $(FUZZ_TARGETS)

# $(1): target name, $(2): seed corpus, $(3): runs. New inputs go to a scratch corpus under build/.
define run_fuzzer
	@mkdir -p $(FUZZ_DIR)/work-$(1)
	@echo "== fuzz $(1): $(3) executions"
	@set -o pipefail; $(FUZZ_DIR)/$(1) -runs=$(3) -max_len=8192 -print_final_stats=1 $(FUZZ_DIR)/work-$(1) $(2) 2>&1 \
	    | grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|DONE|ERROR|SUMMARY|==[0-9]+==" || true; \
	    test $${PIPESTATUS[0]} -eq 0
endef

fuzz: fuzz-build
	$(call run_fuzzer,fuzz_json_inputs,fuzz/corpus/inputs,$(FUZZ_RUNS))
	$(call run_fuzzer,fuzz_caller_inputs,fuzz/corpus/inputs,$(FUZZ_RUNS))
	$(call run_fuzzer,fuzz_responses,fuzz/corpus/responses,$(FUZZ_RUNS))

# The short run inside `make test`.
test-fuzz: fuzz-build
	$(call run_fuzzer,fuzz_json_inputs,fuzz/corpus/inputs,$(FUZZ_SHORT))
	$(call run_fuzzer,fuzz_caller_inputs,fuzz/corpus/inputs,$(FUZZ_SHORT))
	$(call run_fuzzer,fuzz_responses,fuzz/corpus/responses,$(FUZZ_SHORT))

# The C tests with ASan/UBSan/LSan. The library is not instrumented (SwiftPM, static Swift runtime),
# but ASan's allocator still catches its double frees, bad frees and leaks of what it mallocs.
ASAN_TESTS    := $(patsubst $(OUT)/tests/%,$(OUT)/asan/%,$(C_TESTS))

$(OUT)/asan/%: tests/c/%.c tests/c/harness.c tests/c/harness.h Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fuse-ld=lld -IInclude \
	    -o $@ $< tests/c/harness.c $(TEST_LDLIBS)

asan: $(ASAN_TESTS)
	@set -e; for t in $(ASAN_TESTS); do echo "== asan $$t"; \
	    $(PYPATH) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 $$t; done
	@$(MAKE) --no-print-directory asan-swift

# The Swift tests with the core built under a sanitizer (debug builds, one scratch path each so they
# do not rebuild each other). XCTest is off: the tests are Swift Testing, and an empty XCTest pass
# only reports libXCTest's own leaks. Any sanitizer report fails the run.
SWIFT_SANITIZED := swift test --disable-xctest

asan-swift:
	$(SWIFT_SANITIZED) --sanitize=address --scratch-path .build-asan

# Then the 16-thread C stress test against the TSan build of libpassauth.so (the toolchain's TSan
# runtime carries libdispatch interceptors, hence -ldispatch). libcurl is not instrumented.
TSAN_DIR      := $(OUT)/tsan
SWIFT_LIBS    := $(abspath $(dir $(CLANG))../lib/swift/linux)

tsan:
	$(SWIFT_SANITIZED) --sanitize=thread --scratch-path .build-tsan
	@mkdir -p $(TSAN_DIR)
	ln -sf $(abspath .build-tsan/debug/libpassauth.so) $(TSAN_DIR)/$(SONAME)
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=thread -IInclude -o $(TSAN_DIR)/test_stress \
	    tests/c/test_stress.c tests/c/harness.c -L$(TSAN_DIR) -Wl,-rpath,$(abspath $(TSAN_DIR)) -l:$(SONAME) \
	    -lcurl -ljansson -lpthread -L$(SWIFT_LIBS) -Wl,-rpath,$(SWIFT_LIBS) -ldispatch -lBlocksRuntime
	$(PYPATH) PASSAUTH_STRESS_ROUNDS=3 $(TSAN_DIR)/test_stress

memcheck: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== memcheck $$t"; \
	    $(PYPATH) PASSAUTH_KILLS=20 PASSAUTH_STRESS_ROUNDS=2 $(VALGRIND) $$t; done

# Gate: any helgrind report left after tests/helgrind.supp (each entry says why it is safe) fails.
# passauth's shared state is behind pthread locks (Locked, Monitor, FlightLock), which helgrind sees;
# Synchronization.Mutex and Atomic are futex-based and invisible to it.
HELGRIND      := valgrind --tool=helgrind --error-exitcode=1 --suppressions=tests/helgrind.supp

helgrind: $(OUT)/tests/test_stress
	@status=0; $(PYPATH) PASSAUTH_STRESS_ROUNDS=1 $(HELGRIND) --log-file=$(OUT)/helgrind.log $(OUT)/tests/test_stress \
	    || status=$$?; \
	echo "helgrind: $$(grep -c 'Possible data race' $(OUT)/helgrind.log) race reports;" \
	    "$$(grep -o 'ERROR SUMMARY.*' $(OUT)/helgrind.log) (see $(OUT)/helgrind.log)"; \
	exit $$status

soak: $(OUT)/tests/test_store_kill $(OUT)/tests/test_stress
	$(PYPATH) PASSAUTH_KILLS=2000 $(OUT)/tests/test_store_kill
	$(PYPATH) PASSAUTH_STRESS_ROUNDS=60 $(OUT)/tests/test_stress
	@$(MAKE) --no-print-directory fuzz
