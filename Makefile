# The front door.  Real build logic lives in meson.build; this file only
# strings together the steps an operator or CI runs.
BUILD        ?= build
BUILD_ASAN   ?= build-asan
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 60
# make fuzz-long: seconds per harness, FUZZ_LONG_SECONDS=N or, given on the
# command line, FUZZ_SECONDS=N.
ifeq ($(origin FUZZ_SECONDS),command line)
FUZZ_LONG_SECONDS ?= $(FUZZ_SECONDS)
endif
FUZZ_LONG_SECONDS ?= 3600

.PHONY: all deps test test-unit asan fuzz fuzz-long demo bench install deb clean

all:
	@scripts/deps.sh build
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

# Everything: unit + e2e tests, the unit tests again under ASan+UBSan, and
# $(FUZZ_SECONDS) s of fuzzing.  Exits non-zero on any failure.
test:
	@scripts/deps.sh test
	@scripts/test.sh all

test-unit: all
	@scripts/test.sh unit

asan:
	@scripts/deps.sh test
	@scripts/test.sh asan

fuzz:
	@scripts/deps.sh test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test.sh fuzz

# A fuzzing campaign: each harness for $(FUZZ_LONG_SECONDS) s under nice 19,
# on a corpus kept between runs in $(FUZZ_CORPUS) (outside git); not part
# of `make test`.
FUZZ_CORPUS ?= tests/fuzz/corpus-long
fuzz-long:
	@scripts/deps.sh test
	@FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) FUZZ_CORPUS=$(FUZZ_CORPUS) scripts/test.sh fuzz-long

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@lab/demo.sh

bench: all
	@$(BUILD)/tools/synguard-bench all

# Into the build's prefix (/usr/local unless `meson configure -Dprefix=`);
# DESTDIR=/some/dir stages the files there instead.
install: all
	@meson install -C $(BUILD) --no-rebuild

# The Debian package, built from a copy of the tree: build-deb/*.deb.
deb:
	@scripts/deps.sh deb
	@scripts/deb.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) build-deb
