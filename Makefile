# Thin wrapper: `make run` and `make test` do all set-up on a fresh Debian 12 machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build, the dev stand-ins and the test suite need (chromium: the /status page test, headless;
# clang and libclang-rt-14-dev: the fuzz build, whose -fsanitize=fuzzer runtime Debian 12 ships in the latter).
DEB_PACKAGES := build-essential cmake pkg-config openssl ca-certificates curl python3 python3-jsonschema python3-yaml \
	libevent-dev libssl-dev libcurl4-openssl-dev libxml2-dev libjansson-dev libhiredis-dev \
	libutf8proc-dev libcmocka-dev redis-server chromium clang libclang-rt-14-dev slowhttptest \
	libsystemd-dev systemd dpkg-dev redis-sentinel stunnel4

# `make fuzz`: each target for FUZZ_TIME seconds, keeping what it finds in FUZZ_DIR (corpus/, crashes/), which
# later runs start from. FUZZ_TARGETS picks some (fuzz_config fuzz_text); FUZZ_FLAGS adds libFuzzer options.
FUZZ_TIME    ?= 300
FUZZ_DIR     ?= .fuzz
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_FLAGS   ?=

.PHONY: run test deps build build-asan build-fuzz fuzz pki clean unit promtool bench deb deb-check

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLT_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The fuzz targets (tests/fuzz) and the libraries under them, built by clang in their own tree: nothing else.
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLT_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target lt_fuzz

fuzz: build-fuzz
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  echo "== $$t: $(FUZZ_TIME) s, corpus $(FUZZ_DIR)/corpus/$$t"; \
	  sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz/$$t $(FUZZ_BUILD)/tests/fuzz/seeds/$$t $(FUZZ_DIR)/corpus/$$t \
	    $(FUZZ_DIR)/crashes/$$t -max_total_time=$(FUZZ_TIME) -timeout=60 -rss_limit_mb=2048 $(FUZZ_FLAGS) \
	    || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed (see $(FUZZ_DIR)/crashes/ and docs/development.md)"; exit 1; fi

pki: deps
	certs/gen-pki.sh certs/dev

# Only what `make run` starts (not the unit tests): the gateway, the simulators and the operators' tools.
run: deps pki
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target lienthong-gateway lienthong-sim lienthong-ctl lienthong-audit
	config/run-dev.sh $(BUILD)

# The Debian package (docs/operations.md, "Installing from the .deb"), in its own build dir with the /usr prefix:
# CPack's DEB generator, runtime dependencies from dpkg-shlibdeps. Builds the installed programs only.
DEB_BUILD ?= build-deb
deb: deps
	cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
	cmake --build $(DEB_BUILD) -j $(JOBS) --target lt-installed
	cd $(DEB_BUILD) && cpack -G DEB
	@ls $(DEB_BUILD)/*.deb

# The package installed into a clean Debian 12 root and started there as its unit starts it
# (packaging/test-in-clean-root.sh; docs/development.md). Not part of `make test`: the first run downloads a root
# (debootstrap, minbase) into CLEAN_ROOT, which later runs reuse.
CLEAN_ROOT ?= /tmp/lt-root
deb-check: deb
	@command -v debootstrap >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq debootstrap; }
	$(SUDO) packaging/test-in-clean-root.sh --create $$(ls -t $(DEB_BUILD)/lienthong-gateway_*.deb | head -1) $(CLEAN_ROOT)

# Debian's promtool (for the /metrics test) ships only in the prometheus package, whose server would start and
# take port 9090 (the admin listener's). So it is unpacked from the package into the build tree, not installed.
PROMTOOL := $(BUILD)/tools/promtool
promtool: $(PROMTOOL)
$(PROMTOOL):
	@mkdir -p $(BUILD)/tools/deb
	@if command -v promtool >/dev/null 2>&1; then ln -sf "$$(command -v promtool)" $@; \
	else cd $(BUILD)/tools/deb && \
	  { apt-get download -qq prometheus 2>/dev/null || { $(SUDO) apt-get update -qq && apt-get download -qq prometheus; }; } && \
	  dpkg-deb -x prometheus_*.deb root && ln -sf "$$PWD/root/usr/bin/promtool" ../promtool; fi

# The whole suite, on the ordinary build and again under ASan+UBSan; then a short run of every fuzz target and the
# replay of its regressions (label fuzz: the fuzz build holds no other test worth running twice).
test: build build-asan build-fuzz promtool
	cd $(BUILD) && LT_PROMTOOL=$(abspath $(PROMTOOL)) ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && LT_PROMTOOL=$(abspath $(PROMTOOL)) ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS) -L fuzz

# The cached-hit benchmark against nginx and HAProxy (bench/README.md); not part of `make test`. It installs and
# builds what it needs itself. BENCH_ARGS=--quick for a smoke run.
bench: deps
	bench/hit_bench.sh $(BENCH_ARGS) $(BUILD)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
