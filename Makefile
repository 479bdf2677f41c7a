# passauth — build, test, demo and install. `make help` lists the targets.
SHELL         := /bin/bash
VERSION       := $(shell cat VERSION)
MAJOR         := $(firstword $(subst ., ,$(VERSION)))
SONAME        := libpassauth.so.$(MAJOR)
PREFIX        ?= /usr/local
OUT           := build
# PYTHON is the base interpreter the project venv is made from (any Python 3.9+; a stock Debian/Ubuntu
# python3, which refuses pip installs, is fine). Every Python tool runs from the venv: $(PY), and
# `python3` in the recipes' PATH.
PYTHON        ?= python3
VENV          ?= $(OUT)/venv
PY            := $(abspath $(VENV))/bin/python
export PATH   := $(abspath $(VENV))/bin:$(PATH):/opt/swift/usr/bin
STRIP         ?= strip

SWIFT_BUILD   := .build/release
LIBDIR        := $(OUT)/lib
LIB           := $(LIBDIR)/libpassauth.so.$(VERSION)
# What ships (make install, the Python package, the wheel): the library without its symbol table and
# debug info (strip --strip-unneeded keeps the dynamic symbols). $(LIB) keeps them, for debugging.
STRIPPED_LIB  := $(OUT)/stripped/libpassauth.so.$(VERSION)
STRIPPED_CLI  := $(OUT)/stripped/passauth
PYLIB         := bindings/python/passauth/lib/$(SONAME)
CLI           := $(OUT)/bin/passauth
# The library straight from the build tree: PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config passauth.
BUILD_PC      := $(LIBDIR)/pkgconfig/passauth.pc
CXX           ?= g++
CXXFLAGS      := -std=c++17 -Wall -Wextra -Werror -O2 -g -IInclude -Ibindings/cpp
CFLAGS        += -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -IInclude
TEST_LDLIBS   := -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth -lcurl -ljansson -lsqlite3 -lpthread
PYPATH        := PYTHONPATH=$(abspath bindings/python):$(abspath emulator) PASSAUTH_LIBRARY=$(abspath $(LIBDIR)/$(SONAME))

C_TESTS       := $(patsubst tests/c/%.c,$(OUT)/tests/%,$(filter-out tests/c/harness.c,$(wildcard tests/c/test_*.c)))
C_EXAMPLES    := $(OUT)/examples/player $(OUT)/examples/server
CPP_EXAMPLES  := $(OUT)/examples/cpp-journey
CPP_TESTS     := $(OUT)/tests/test_wrapper

.PHONY: all help bootstrap build python-lib test test-abi test-swift test-c test-cpp test-python test-cli test-docs test-install \
        test-emulator test-contract test-wheel test-store-scale wheel version demo emulator install clean bench bench-programs \
        fuzz fuzz-build test-fuzz asan asan-swift tsan memcheck helgrind soak

all: build

help:
	@echo "make demo      set up, build and run the journey against the local emulator (C, Python, the C player, C++, the passauth command)"
	@echo "make test      build everything and run the Swift, C, C++, Python, CLI, emulator, contract and install tests"
	@echo "make build     build $(LIB) (+ SONAME symlinks) and the passauth command $(CLI)"
	@echo "make bench     build and run the benchmarks (benchmarks/README.md): one table, under 5 minutes"
	@echo "make emulator  run the Adobe Pass emulator (emulator/, python3 -m passauth_emulator) on http://127.0.0.1:8642"
	@echo "make test-emulator  the emulator's own tests (emulator/tests, including mypy --strict)"
	@echo "make test-contract  the library's requests and decoders against Adobe's OpenAPI files (tests/contract)"
	@echo "make test-docs the docs' C/C++/shell/JSON snippets compiled or run, and the examples run (tests/docs)"
	@echo "make fuzz      build the libFuzzer targets and run each for FUZZ_RUNS (1,000,000) executions"
	@echo "make asan      every C test built with AddressSanitizer + UBSan (LeakSanitizer on), then the Swift tests under ASan"
	@echo "make tsan      the Swift tests, then the 16-thread C stress test, under ThreadSanitizer"
	@echo "make memcheck  every C test under valgrind memcheck (definite leaks and memory errors fail)"
	@echo "make helgrind  the 16-thread stress test under valgrind helgrind: fails on any report not in tests/helgrind.supp"
	@echo "make soak      long runs: 2,000 SIGKILLs of a store writer, a long stress run, make fuzz"
	@echo "make install   install the stripped library, headers (C, C++), passauth.pc, the CMake package and the passauth"
	@echo "               command under PREFIX=$(PREFIX) (DESTDIR=... stages them)"
	@echo "make wheel     a platform wheel in $(OUT)/dist/ with libcurl, jansson and their dependencies inside (auditwheel)"
	@echo "make version   write VERSION ($(VERSION)) into the header, Version.swift, Package.swift and the Python package"
	@echo "Python tools run from the venv $(VENV), made from PYTHON=$(PYTHON) (e.g. make test PYTHON=/usr/bin/python3)"

bootstrap:
	@PYTHON="$(PYTHON)" VENV="$(VENV)" scripts/bootstrap.sh

build: bootstrap $(LIB) python-lib $(CLI) $(BUILD_PC)

# The version lives in VERSION; this writes it into the files that repeat it (test-abi checks them).
version:
	$(PYTHON) scripts/version.py

# A stripped copy of the library inside the Python package, so that `pip install ./bindings/python`
# bundles it.
python-lib: $(PYLIB)

$(PYLIB): $(STRIPPED_LIB)
	@mkdir -p $(dir $@)
	cp $< $@.tmp && mv -f $@.tmp $@

$(OUT)/stripped/%: $(OUT)/lib/%
	@mkdir -p $(dir $@)
	$(STRIP) --strip-unneeded -o $@.tmp $< && mv -f $@.tmp $@

$(STRIPPED_CLI): $(CLI)
	@mkdir -p $(dir $@)
	$(STRIP) --strip-unneeded -o $@.tmp $< && mv -f $@.tmp $@

# passauth.pc for the library as built: headers from Include/ (and bindings/cpp/ for passauth.hpp), the
# library from build/lib/ with an RPATH to it, so a program built with it runs without LD_LIBRARY_PATH.
$(BUILD_PC): passauth.pc.in VERSION
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(abspath .)|g' -e 's|@LIBDIR@|$(abspath $(LIBDIR))|g' \
	    -e 's|@INCLUDEDIR@|$(abspath Include)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_EXTRA@| -Wl,-rpath,$${libdir}|g' -e 's|@CFLAGS_EXTRA@| -I$(abspath bindings/cpp)|g' $< > $@

$(LIB): Package.swift VERSION $(shell find Sources Include -type f -not -path "Sources/passauth-cli/*")
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

$(OUT)/tests/%: tests/c/%.c tests/c/harness.c tests/c/harness.h tests/c/redis_server.h Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/c/harness.c $(TEST_LDLIBS)

$(OUT)/examples/%: examples/c/%.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth

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
	@$(MAKE) --no-print-directory test-abi test-swift test-c test-cpp test-python test-cli test-docs test-emulator test-contract test-install test-wheel test-fuzz test-store-scale

test-abi: $(LIB)
	tests/abi/test_shared_object.sh $(LIB) Include/passauth.h

test-swift:
	swift test

test-c: $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; $(PYPATH) $$t; done

test-cpp: $(CPP_TESTS) $(CPP_EXAMPLES)
	@set -e; for t in $(CPP_TESTS); do echo "== $$t"; $(PYPATH) $$t; done

test-cli: $(CLI)
	$(PYPATH) PASSAUTH_CLI=$(abspath $(CLI)) $(PY) -m pytest -q tests/cli

test-install: $(LIB) $(CLI) $(BUILD_PC)
	PYTHON=$(PY) tests/install/test_install.sh

# A fresh venv with only the wheel installed runs the journey: no build tree on any path.
test-wheel: wheel
	PYTHON=$(PY) tests/install/test_wheel.sh $(WHEEL_DIR)

# The state layer's write cost stays flat with the number of devices stored (benchmarks/store_scale.swift).
test-store-scale: $(OUT)/bench/store_scale
	$(OUT)/bench/store_scale --devices 1000,100000 --writes 201 --check
	$(OUT)/bench/store_scale --devices 1000,100000 --writes 201 --check --store redis

test-python:
	cd bindings/python && $(PYPATH) $(PY) -m pytest -q tests

# The documentation (tests/docs): every C and C++ block of README.md and docs/*.md compiled with -Werror,
# shell blocks checked with bash -n (those marked <!-- run --> run), JSON configurations accepted by the
# library, the Mermaid diagram's syntax; and every program under examples/ run against the emulator.
test-docs: $(LIB) $(C_EXAMPLES) $(CPP_EXAMPLES)
	$(PYPATH) $(PY) -m pytest -q tests/docs

# The emulator's own suite (standard library only; needs neither the library nor the binding).
test-emulator:
	cd emulator && PYTHONPATH=$(abspath emulator) $(PY) -m pytest -q tests

# The library against Adobe's OpenAPI descriptions (tests/contract/openapi/README.md): every request of
# a full journey, and every 2xx response schema fed to the decoders, through the Python binding.
test-contract:
	$(PYPATH) $(PY) -m pytest -q tests/contract

demo: build $(C_EXAMPLES) $(CPP_EXAMPLES)
	@$(PYPATH) $(PY) scripts/demo.py $(abspath $(OUT)/examples) $(abspath $(CLI))

# Benchmarks (benchmarks/README.md): C programs in build/bench/, then benchmarks/run.py prints one table.
BENCH_PROGRAMS := $(OUT)/bench/authorize_bench $(OUT)/bench/traffic_bench $(OUT)/bench/footprint $(OUT)/bench/poll_driver \
                  $(OUT)/bench/poll_slices $(OUT)/bench/poll_server $(OUT)/bench/libcgmark.so $(OUT)/bench/store_scale \
                  $(OUT)/bench/engine $(OUT)/bench/fleet_driver

bench: build bench-programs
	$(PYPATH) $(PY) benchmarks/run.py

bench-programs: $(BENCH_PROGRAMS)

$(OUT)/bench/authorize_bench: benchmarks/c/authorize_bench.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

# The player's hot calls against benchmarks/traffic_server.py (benchmarks/traffic.py); callgrind.h marks
# the measured calls.
$(OUT)/bench/traffic_bench: benchmarks/c/traffic_bench.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

# Callgrind start/dump markers for Python children (ctypes): benchmarks/python_authorize.py.
$(OUT)/bench/libcgmark.so: benchmarks/c/cgmark.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $<

$(OUT)/bench/poll_driver: benchmarks/c/poll_driver.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

# One instance of the fleet of s2s_fleet.py (polls on a Redis store, then authorize calls).
$(OUT)/bench/fleet_driver: benchmarks/c/fleet_driver.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)
# The canned service of s2s_polls.py and s2s_fleet.py (epoll, one thread): no library.
$(OUT)/bench/poll_server: benchmarks/c/poll_server.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# A player's wait-in-slices loop: the C ABI alone (no JSON library).
$(OUT)/bench/poll_slices: benchmarks/c/poll_slices.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth

# store_scale and engine: the core's sources and the benchmark compiled as one module (they call the
# state layer and the transport directly, as the fuzz targets do), optimised, without sanitizers.
BENCH_SWIFT   := $(OUT)/bench/swift

$(BENCH_SWIFT)/ccurl.o: Sources/CCurl/ccurl.c Sources/CCurl/include/ccurl.h
	@mkdir -p $(BENCH_SWIFT)/ccurl
	printf 'module CCurl {\n    header "%s/Sources/CCurl/include/ccurl.h"\n    link "curl"\n    export *\n}\n' \
	    "$(abspath .)" > $(BENCH_SWIFT)/ccurl/module.modulemap
	$(CC) -c -O2 -ISources/CCurl/include -o $@ $<

# The Redis wire layer (Sources/CHiredis): hiredis is dlopen'ed at run time, nothing of it is linked.
$(BENCH_SWIFT)/chiredis.o: Sources/CHiredis/chiredis.c Sources/CHiredis/include/chiredis.h
	@mkdir -p $(BENCH_SWIFT)/chiredis
	printf 'module CHiredis {\n    header "%s/Sources/CHiredis/include/chiredis.h"\n    export *\n}\n' \
	    "$(abspath .)" > $(BENCH_SWIFT)/chiredis/module.modulemap
	$(CC) -c -O2 -ISources/CHiredis/include -o $@ $<

$(OUT)/bench/store_scale $(OUT)/bench/engine: $(OUT)/bench/%: benchmarks/%.swift $(shell find Sources/PassAuthCore -name "*.swift") $(BENCH_SWIFT)/ccurl.o $(BENCH_SWIFT)/chiredis.o
	swiftc -O -parse-as-library -module-name PassAuthCore -package-name passauth -I Sources/CJansson -I Sources/CQRencode -I Sources/CSQLite -I Sources/COpenSSL \
	    -I $(BENCH_SWIFT)/ccurl -I $(BENCH_SWIFT)/chiredis $(shell find Sources/PassAuthCore -name "*.swift") $< \
	    $(BENCH_SWIFT)/ccurl.o $(BENCH_SWIFT)/chiredis.o -lcurl -ljansson -lqrencode -lsqlite3 -lssl -lcrypto -o $@

$(OUT)/bench/footprint: benchmarks/c/footprint.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -ldl


emulator:
	$(PYPATH) $(PY) -m passauth_emulator --port 8642

# The stripped library and command, the headers, passauth.pc and the CMake package
# (find_package(passauth 0.1) -> passauth::passauth). The .pc and CMake files name paths under PREFIX;
# DESTDIR only stages them.
install: build $(STRIPPED_LIB) $(STRIPPED_CLI)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/passauth $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(STRIPPED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpassauth.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libpassauth.so
	install -m 0644 Include/passauth.h bindings/cpp/passauth.hpp $(DESTDIR)$(PREFIX)/include/
	install -m 0755 $(STRIPPED_CLI) $(DESTDIR)$(PREFIX)/bin/passauth
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$${prefix}/lib|g' -e 's|@INCLUDEDIR@|$${prefix}/include|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS_EXTRA@||g' -e 's|@CFLAGS_EXTRA@||g' \
	    passauth.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/passauth.pc
	for f in passauthConfig passauthConfigVersion; do \
	    sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' cmake/$$f.cmake.in \
	        > $(DESTDIR)$(PREFIX)/lib/cmake/passauth/$$f.cmake || exit 1; \
	done

# The wheel: built from a copy of bindings/python (so the source tree gets no build/ or egg-info),
# platform-tagged (setup.py), then repaired by auditwheel, which copies libcurl, jansson and every
# library they need that a manylinux system may lack into passauth.libs/ and points libpassauth's
# RPATH there.
#
# The policy is the oldest one auditwheel accepts here. auditwheel grants manylinux_2_X only when every
# versioned glibc symbol in the wheel (libpassauth and the libraries copied in, all built against this
# machine's glibc) is at most 2.X. Built on Debian 12 (glibc 2.36), the newest one is libpassauth's own
# hypotf@GLIBC_2.35 (libm; the statically linked Swift runtime calls it), and the vendored libcurl,
# OpenSSL, Kerberos ... need GLIBC_2.34, so manylinux_2_35 is the tag: the wheel installs on glibc >= 2.35
# (Ubuntu 22.04, Debian 12, RHEL 10, ...). auditwheel refuses an older tag ("too-recent versioned
# symbols"), and a newer one would shut out systems for nothing. Another build machine may need another
# MANYLINUX=...: `auditwheel show build/wheel/raw/*.whl` names it.
WHEEL_DIR     := $(OUT)/dist
MANYLINUX     ?= manylinux_2_35_$(shell uname -m)

wheel: build
	rm -rf $(OUT)/wheel && mkdir -p $(OUT)/wheel/src $(WHEEL_DIR)
	tar -C bindings/python --exclude=__pycache__ --exclude=.mypy_cache --exclude='*.egg-info' \
	    -cf - pyproject.toml setup.py README.md passauth | tar -C $(OUT)/wheel/src -xf -
	$(PY) -m pip wheel -q --disable-pip-version-check --no-deps --no-index --no-build-isolation \
	    -w $(OUT)/wheel/raw $(OUT)/wheel/src
	rm -f $(WHEEL_DIR)/passauth-*.whl
	$(PY) -m auditwheel repair --plat $(MANYLINUX) -w $(WHEEL_DIR) $(OUT)/wheel/raw/passauth-*.whl
	@ls -l $(WHEEL_DIR)/passauth-*.whl

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
$(FUZZ_DIR)/chiredis.o: Sources/CHiredis/chiredis.c Sources/CHiredis/include/chiredis.h
	@mkdir -p $(FUZZ_DIR)/chiredis
	printf 'module CHiredis {\n    header "%s/Sources/CHiredis/include/chiredis.h"\n    export *\n}\n' \
	    "$(abspath .)" > $(FUZZ_DIR)/chiredis/module.modulemap
	$(CLANG) -c -O1 -g -fsanitize=address,fuzzer-no-link -ISources/CHiredis/include -o $@ $<

$(FUZZ_DIR)/fuzz_responses $(FUZZ_DIR)/fuzz_caller_inputs: $(shell find Sources/PassAuthCore -name "*.swift") $(FUZZ_DIR)/ccurl.o $(FUZZ_DIR)/chiredis.o
	$(SWIFTC) -O -g -parse-as-library -module-name PassAuthCore -package-name passauth -sanitize=fuzzer,address \
	    -I Sources/CJansson -I Sources/CQRencode -I Sources/CSQLite -I Sources/COpenSSL -I $(FUZZ_DIR)/ccurl -I $(FUZZ_DIR)/chiredis \
	    $(shell find Sources/PassAuthCore -name "*.swift") $(filter fuzz/%.swift,$^) \
	    $(FUZZ_DIR)/ccurl.o $(FUZZ_DIR)/chiredis.o -lcurl -ljansson -lqrencode -lsqlite3 -lssl -lcrypto -o $@

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

$(OUT)/asan/%: tests/c/%.c tests/c/harness.c tests/c/harness.h tests/c/redis_server.h Include/passauth.h $(LIB)
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
