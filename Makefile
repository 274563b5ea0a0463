# Makefile: builds and tests Spoolkeeper (common/ library, programs, unit tests, fuzzers, benchmarks).
#
#   make            build everything into build/
#   make deps       install the Debian packages that are missing (apt-get)
#   make run        deps, build, then the whole stack on 127.0.0.1:8080 in the foreground (the README's run
#                   command; PORT=, STACK_DIR= (default ./var), DEMO=1; tests/harness/stack.sh)
#   make demo       the same with a simulated printer and Spoolman (make run DEMO=1), state in DEMO_DIR
#                   (default ./var/demo: the demo's data never mixes with real data)
#   make stop       stops the stack of make run / make demo from another terminal
#   make test       deps, then build and run every test (the README's test command)
#   make SAN=1 test the same under ASan+UBSan, built into build-san/
#   make screenshots the browser tests (tests/frontend/) once more, writing docs/screenshots/*.png
#   make bench      the benchmarks of bench/ (prints figures beside their references)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 600) by hand

comma	:= ,
BUILD	:= build$(if $(SAN),-san)
CC	?= cc
FUZZCC	?= clang
PKGS	:= jansson libzip expat libpq libcurl libmosquitto openssl libsodium
WARN	:= -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	   -Wshadow -Wpointer-arith -Wundef
OPT	?= -O2 -g
SANFLAGS := $(if $(SAN),-fsanitize=address$(comma)undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
# CI (which sets CI=true) and WERROR=1 turn warnings into errors.
ERRFLAG	:= $(if $(or $(CI),$(WERROR)),-Werror)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Icommon -Iworker -Ifcgi-app
# -pthread: analyze.c reads or inflates in a second thread while the caller parses.
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(ERRFLAG) $(SANFLAGS) $(PKG_CFLAGS) \
	     -pthread -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) -pthread $(LDFLAGS)

# Debian packages the build and the tests need; `make deps` installs the missing ones.
DEB_BUILD := build-essential pkg-config libfcgi-dev libmosquitto-dev \
	     libcurl4-openssl-dev libjansson-dev libzip-dev libpq-dev check \
	     libexpat1-dev libssl-dev libsodium-dev
DEB_TEST  := clang libclang-rt-14-dev zip unzip python3 time postgresql \
	     mosquitto mosquitto-clients vsftpd openssl curl nginx-light wrk \
	     chromium ansible ansible-lint procps
DEB_ALL   := $(DEB_BUILD) $(DEB_TEST)
# What `make run` and `make demo` need beyond the build: a newcomer gets no compilers for fuzzing, no browser.
DEB_RUN   := $(DEB_BUILD) postgresql nginx-light python3 procps mosquitto vsftpd openssl

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libcommon.a

# spoolkeeper is a small front that runs analyze itself and execs spoolkeeper-cli (every command) for the rest:
# without libpq and libcurl (and the GnuTLS they bring), analyze starts in about 2 ms instead of 7 (docs/gcode.md).
FRONT_SRC := worker/cli/front.c worker/cli/cmd_analyze.c
FRONT_OBJ := $(FRONT_SRC:%.c=$(BUILD)/%.o)
FRONT_BIN := $(BUILD)/bin/spoolkeeper
FRONT_LIBS = $(shell pkg-config --libs jansson libzip expat 2>/dev/null) -lm
CLI_SRC	:= $(filter-out worker/cli/front.c,$(wildcard worker/cli/*.c))
CLI_OBJ	:= $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI_BIN	:= $(BUILD)/bin/spoolkeeper-cli

UNIT_SRC := $(wildcard tests/unit/check_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPER_SRC := $(filter-out tests/unit/check_%.c,$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJ := $(UNIT_HELPER_SRC:%.c=$(BUILD)/%.o)

# The gcode tests again against common/gcode.c built without SSE2: the portable SWAR paths that an ARM machine
# (a Raspberry Pi) runs are tested on x86 too.  Named check_portable_*, they run with the unit tests.
PORTABLE_TESTS := gcode gcode_num gcode_premove samples
PORTABLE_BIN := $(PORTABLE_TESTS:%=$(BUILD)/tests/check_portable_%)
PORTABLE_OBJ := $(BUILD)/portable/gcode.o

# The threaded path (analyze's reader parsing ahead) under ThreadSanitizer:
# these unit tests and everything they link built with -fsanitize=thread (not with SAN=1: the two cannot mix).
TSAN_TESTS := samples gcode_premove
TSAN_BIN := $(if $(SAN),,$(TSAN_TESTS:%=$(BUILD)/tests/check_tsan_%))
TSAN_DEPS := $(COMMON_SRC) $(UNIT_HELPER_SRC) $(wildcard tests/harness/*.c)

# Database tests (Check), run by tests/db/ against a throwaway cluster, not with the unit tests.
DB_TEST_SRC := $(wildcard tests/db/check_*.c)
DB_TEST_BIN := $(DB_TEST_SRC:tests/db/%.c=$(BUILD)/tests/db/%)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

# The worker: its modules as an archive (tests link them too) and main.c.
WORKER_SRC := $(filter-out worker/main.c,$(wildcard worker/*.c))
WORKER_OBJ := $(WORKER_SRC:%.c=$(BUILD)/%.o)
WORKER_LIB := $(BUILD)/libworker.a
WORKER_BIN := $(BUILD)/bin/spoolkeeper-worker

# Worker tests (tests/worker/): Check programs and test tools linked with the worker's modules.
WORKER_TEST_SRC := $(wildcard tests/worker/check_*.c) $(wildcard tests/worker/*_tool.c)
WORKER_TEST_BIN := $(WORKER_TEST_SRC:tests/worker/%.c=$(BUILD)/tests/worker/%)

# Helpers of the Check programs (tests/harness/*.c), as an archive: each program links only what it uses.
HARNESS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/harness/*.c))
HARNESS_LIB := $(BUILD)/libharness.a

# The web app (fcgi-app/): its modules as an archive (handler tests link them) and main.c.
WEB_SRC	:= $(filter-out fcgi-app/main.c,$(wildcard fcgi-app/*.c))
WEB_OBJ	:= $(WEB_SRC:%.c=$(BUILD)/%.o)
WEB_LIB	:= $(BUILD)/libweb.a
WEB_BIN	:= $(BUILD)/bin/spoolkeeper-web
WEB_TEST_SRC := $(wildcard tests/web/check_*.c)
WEB_TEST_BIN := $(WEB_TEST_SRC:tests/web/%.c=$(BUILD)/tests/web/%)
WEB_TEST_HELPER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/web/check_%.c,$(wildcard tests/web/*.c)))

BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps deps-run run demo stop test check fuzz-build fuzz bench clean headers

all: $(FRONT_BIN) $(CLI_BIN) $(WORKER_BIN) $(WEB_BIN) $(BENCH_BIN)

deps: DEB_WANT = $(DEB_ALL)
deps-run: DEB_WANT = $(DEB_RUN)
deps deps-run:
	@missing=""; for p in $(DEB_WANT); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	        grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@# The frontend's build needs node and npm; a node installed otherwise (nodesource, nvm) is kept.
	@command -v npm >/dev/null 2>&1 || { echo "deps: installing nodejs npm"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }

# The README's run command: the embedded PostgreSQL, migrations, the key, the worker, spoolkeeper-web and nginx on
# 127.0.0.1:$(PORT), in the foreground until Ctrl-C or `make stop`; state kept in $(STACK_DIR) (docs/operations.md).
PORT	?= 8080
STACK_DIR ?= $(CURDIR)/var
DEMO_DIR ?= $(CURDIR)/var/demo
run: deps-run
	@$(MAKE) --no-print-directory all
	@PORT="$(PORT)" DEMO="$(DEMO)" BUILD="$(BUILD)" sh tests/harness/stack.sh run \
	    "$(if $(DEMO),$(DEMO_DIR),$(STACK_DIR))"

demo:
	@$(MAKE) --no-print-directory run DEMO=1

stop:
	@sh tests/harness/stack.sh stop "$(STACK_DIR)" "$(DEMO_DIR)"

# The README's test command: dependencies first, then a fresh make that sees them.
test: deps
	@$(MAKE) --no-print-directory check

check: all $(UNIT_BIN) $(PORTABLE_BIN) $(TSAN_BIN) $(DB_TEST_BIN) $(WORKER_TEST_BIN) $(WEB_TEST_BIN) headers
	@BUILD=$(BUILD) SAN=$(SAN) sh tests/run.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(COMMON_LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(CLI_BIN): $(CLI_OBJ) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(COMMON_LIB) $(PKG_LIBS)

$(FRONT_BIN): $(FRONT_OBJ) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $(FRONT_OBJ) $(COMMON_LIB) $(FRONT_LIBS)

$(WORKER_LIB): $(WORKER_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(WORKER_BIN): $(BUILD)/worker/main.o $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(WORKER_LIB) $(COMMON_LIB) $(PKG_LIBS)

$(WEB_LIB): $(WEB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(WEB_BIN): $(BUILD)/fcgi-app/main.o $(WEB_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(WEB_LIB) $(COMMON_LIB) $(PKG_LIBS) -lfcgi

$(BUILD)/tests/web/check_%: $(BUILD)/tests/web/check_%.o $(WEB_TEST_HELPER_OBJ) $(HARNESS_LIB) $(WEB_LIB) \
    $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(WEB_TEST_HELPER_OBJ) $(HARNESS_LIB) $(WEB_LIB) $(COMMON_LIB) \
	    $(PKG_LIBS) $(CHECK_LIBS)

$(HARNESS_LIB): $(HARNESS_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/check_%: $(BUILD)/tests/unit/check_%.o $(UNIT_HELPER_OBJ) $(HARNESS_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HELPER_OBJ) $(HARNESS_LIB) $(COMMON_LIB) $(PKG_LIBS) $(CHECK_LIBS)

$(PORTABLE_OBJ): common/gcode.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -U__SSE2__ -c -o $@ $<

$(PORTABLE_BIN): $(BUILD)/tests/check_portable_%: $(BUILD)/tests/unit/check_%.o $(PORTABLE_OBJ) $(UNIT_HELPER_OBJ) \
    $(HARNESS_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(PORTABLE_OBJ) $(UNIT_HELPER_OBJ) $(HARNESS_LIB) $(COMMON_LIB) $(PKG_LIBS) \
	    $(CHECK_LIBS)

$(TSAN_BIN): $(BUILD)/tests/check_tsan_%: tests/unit/check_%.c $(TSAN_DEPS) $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -g -fsanitize=thread $(WARN) $(ERRFLAG) $(CPPFLAGS) $(PKG_CFLAGS) -pthread -o $@ $< \
	    $(TSAN_DEPS) $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/tests/db/check_%: $(BUILD)/tests/db/check_%.o $(HARNESS_LIB) $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(HARNESS_LIB) $(WORKER_LIB) $(COMMON_LIB) $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/tests/worker/check_%: $(BUILD)/tests/worker/check_%.o $(HARNESS_LIB) $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(HARNESS_LIB) $(WORKER_LIB) $(COMMON_LIB) $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/tests/worker/%_tool: $(BUILD)/tests/worker/%_tool.o $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(WORKER_LIB) $(COMMON_LIB) $(PKG_LIBS)

# conf.c's defaults: the source tree's sql/ and var/run (docs/sql.md).
$(BUILD)/common/conf.o: CPPFLAGS += -DSPOOLKEEPER_SRCDIR='"$(CURDIR)"'

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(COMMON_LIB) $(PKG_LIBS)

# bench/outbox_latency.c drives the worker's outbox drain (worker/outbox.c) against the Spoolman stand-in.
$(BUILD)/bench/outbox_latency: $(BUILD)/bench/outbox_latency.o $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(WORKER_LIB) $(COMMON_LIB) $(PKG_LIBS)

# The printer simulator (tests/printer/): a Bambu printer's firmware side on MQTT, playing a sliced file.
SIM_SRC	:= $(wildcard tests/printer/*.c)
SIM_OBJ	:= $(SIM_SRC:%.c=$(BUILD)/%.o)
SIM_BIN	:= $(BUILD)/tests/printer_sim
all: $(SIM_BIN)
$(SIM_BIN): $(SIM_OBJ) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(SIM_OBJ) $(COMMON_LIB) $(PKG_LIBS) \
	    $(shell pkg-config --libs libmosquitto 2>/dev/null || echo -lmosquitto)

# The browser app (frontend/, docs/frontend.md): `npm ci` only when node_modules is missing or older than the
# lock file (so rebuilding needs no network), then esbuild bundles it into frontend/dist/, which nginx serves.
FRONTEND_SRC := frontend/build.mjs $(shell find frontend/src frontend/public frontend/tools -type f 2>/dev/null)
FRONTEND_OUT := frontend/dist/index.html
.PHONY: frontend
frontend: $(FRONTEND_OUT)
all: $(FRONTEND_OUT)
frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "frontend: npm not found: make deps installs nodejs and npm" >&2; \
	    exit 1; }
	cd frontend && npm ci --no-audit --no-fund
	@touch $@
$(FRONTEND_OUT): frontend/node_modules/.package-lock.json $(FRONTEND_SRC)
	cd frontend && node build.mjs

# The browser tests (tests/frontend/, docs/testing-browser.md) once more, writing docs/screenshots/*.png.
.PHONY: screenshots
screenshots: all
	SCREENSHOTS=1 BUILD=$(BUILD) sh tests/frontend/test_browser.sh

# Every header must compile on its own.
headers:
	@for h in common/*.h worker/*.h worker/cli/*.h fcgi-app/*.h; do \
	    echo "#include \"$$h\"" | $(CC) $(CPPFLAGS) -I. -std=c11 $(WARN) \
	        $(ERRFLAG) $(PKG_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done

# libFuzzer targets: clang, instrumented copies of common/ linked in directly.
FUZZ_CFLAGS = -std=c11 -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined \
	      -pthread $(PKG_CFLAGS) $(CPPFLAGS)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(PKG_LIBS)

# The web app's request parsing (fcgi-app/http.c, body.c) beside common/.
build-fuzz/fuzz_http: tests/fuzz/fuzz_http.c fcgi-app/http.c fcgi-app/body.c $(COMMON_SRC) $(wildcard common/*.h) \
    $(wildcard fcgi-app/*.h)
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $< fcgi-app/http.c fcgi-app/body.c $(COMMON_SRC) $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)
FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $$f || exit 1; done

bench: all
	@BUILD=$(BUILD) sh bench/run.sh

clean:
	rm -rf build build-san build-fuzz frontend/dist

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
