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
TEST_LDLIBS   := -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpassauth -lcurl -ljansson -lpthread
PYPATH        := PYTHONPATH=$(abspath bindings/python) PASSAUTH_LIBRARY=$(abspath $(LIBDIR)/$(SONAME))

C_TESTS       := $(patsubst tests/c/%.c,$(OUT)/tests/%,$(filter-out tests/c/harness.c,$(wildcard tests/c/test_*.c)))
C_EXAMPLES    := $(OUT)/examples/player
CPP_EXAMPLES  := $(OUT)/examples/cpp-journey
CPP_TESTS     := $(OUT)/tests/test_wrapper

.PHONY: all help bootstrap build python-lib test test-abi test-swift test-c test-cpp test-python test-cli test-install demo emulator install clean bench bench-programs

all: build

help:
	@echo "make demo      set up, build and run the journey against the local emulator (C, Python, the C player, C++, the passauth command)"
	@echo "make test      build everything and run the Swift, C, C++, Python, CLI and install tests"
	@echo "make build     build $(LIB) (+ SONAME symlinks) and the passauth command $(CLI)"
	@echo "make bench     build and run the benchmarks (benchmarks/README.md): one table, under 10 minutes"
	@echo "make emulator  run the Adobe Pass emulator on http://127.0.0.1:8642"
	@echo "make install   install library, headers (C, C++), pkg-config file and the passauth command under PREFIX=$(PREFIX)"

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap $(LIB) python-lib $(CLI)

# A copy of the library inside the Python package, so that `pip install ./bindings/python` bundles it.
python-lib: $(PYLIB)

$(PYLIB): $(LIB)
	@mkdir -p $(dir $@)
	cp $(LIB) $@

$(LIB): Package.swift $(shell find Sources Include -type f -not -path "Sources/passauth-cli/*")
	swift build -c release --product passauth
	@mkdir -p $(LIBDIR)
	cp $(SWIFT_BUILD)/libpassauth.so $(LIB)
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
	@$(MAKE) --no-print-directory test-abi test-swift test-c test-cpp test-python test-cli test-install

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

test-python:
	cd bindings/python && $(PYPATH) $(PYTHON) -m pytest -q tests

demo: build $(C_EXAMPLES) $(CPP_EXAMPLES)
	@$(PYPATH) $(PYTHON) scripts/demo.py $(abspath $(OUT)/examples) $(abspath $(CLI))

# Benchmarks (benchmarks/README.md): C programs in build/bench/, then benchmarks/run.py prints one table.
BENCH_PROGRAMS := $(OUT)/bench/authorize_bench $(OUT)/bench/footprint \
                  $(patsubst benchmarks/%.c,$(OUT)/bench/%,$(wildcard benchmarks/s2s_*.c))

bench: build bench-programs
	$(PYPATH) $(PYTHON) benchmarks/run.py

bench-programs: $(BENCH_PROGRAMS)

$(OUT)/bench/authorize_bench: benchmarks/c/authorize_bench.c Include/passauth.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LDLIBS)

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
