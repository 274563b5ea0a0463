# Makefile: builds and tests Spoolkeeper (common/ library, programs, unit tests, fuzzers, benchmarks).
#
#   make            build everything into build/
#   make deps       install the Debian packages that are missing (apt-get)
#   make run        deps, build, and analyse FILE (the README's run command)
#   make test       deps, then build and run every test (the README's test command)
#   make SAN=1 test the same under ASan+UBSan, built into build-san/
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
	     mosquitto mosquitto-clients vsftpd openssl curl nginx-light wrk
DEB_ALL   := $(DEB_BUILD) $(DEB_TEST)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libcommon.a

CLI_SRC	:= $(wildcard worker/cli/*.c)
CLI_OBJ	:= $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI_BIN	:= $(BUILD)/bin/spoolkeeper

UNIT_SRC := $(wildcard tests/unit/check_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPER_SRC := $(filter-out tests/unit/check_%.c,$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJ := $(UNIT_HELPER_SRC:%.c=$(BUILD)/%.o)

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

.PHONY: all deps run test check fuzz-build fuzz bench clean headers

all: $(CLI_BIN) $(WORKER_BIN) $(WEB_BIN) $(BENCH_BIN)

deps:
	@missing=""; for p in $(DEB_ALL); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	        grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

# The README's run command (until the worker exists: the engine on FILE).
FILE ?= ../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
run: deps
	@$(MAKE) --no-print-directory all
	$(CLI_BIN) analyze "$(FILE)"

# The README's test command: dependencies first, then a fresh make that sees them.
test: deps
	@$(MAKE) --no-print-directory check

check: all $(UNIT_BIN) $(DB_TEST_BIN) $(WORKER_TEST_BIN) $(WEB_TEST_BIN) headers
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
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
