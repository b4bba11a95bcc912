# Thin wrapper: `make run` and `make test` do all set-up on a fresh Debian 12 machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build, the dev stand-ins and the test suite need (chromium: the /status page test, headless).
DEB_PACKAGES := build-essential cmake pkg-config openssl ca-certificates curl python3 python3-jsonschema python3-yaml \
	libevent-dev libssl-dev libcurl4-openssl-dev libxml2-dev libjansson-dev libhiredis-dev \
	libutf8proc-dev libcmocka-dev redis-server chromium

.PHONY: run test deps build build-asan pki clean unit promtool

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

pki: deps
	certs/gen-pki.sh certs/dev

run: build pki
	config/run-dev.sh $(BUILD)

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

# The whole suite, on the ordinary build and again under ASan+UBSan.
test: build build-asan promtool
	cd $(BUILD) && LT_PROMTOOL=$(abspath $(PROMTOOL)) ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && LT_PROMTOOL=$(abspath $(PROMTOOL)) ctest --output-on-failure -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
