# tlswall: plain GNU make. `make` builds build/tlswall; `make check` runs every test; `make demo` shows it working.

# O=DIR puts every build product under DIR instead of build/ (parallel builds of one tree do not collide).
O ?= build
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/tlswall
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

PKGS := libnftnl libmnl libconfig jansson nettle
# headers only: the audit loads libssl when it makes its first handshake (tls_probe.c)
HEADER_PKGS := libssl
CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wshadow -Wpointer-arith \
	    -Wundef -Wvla -Wwrite-strings -Wmissing-declarations -Wold-style-definition
ifneq ($(CI),)
WARNINGS += -Werror
endif
BASE_CPPFLAGS = -Iinclude -I$(O)/gen -D_DEFAULT_SOURCE -DTLSWALL_STATEDIR='"$(STATEDIR)"'  -DTLSWALL_VERSION='"$(VERSION)"' -DTLSWALL_SYSCONFDIR='"$(SYSCONFDIR)"'
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) $(HEADER_PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 $(BASE_CPPFLAGS) $(PKG_CFLAGS) $(WARNINGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-8s %s\n' $(1) $(2)
endif

# The test hooks (src/test_hooks.c) exist only in the sanitizer build, which is also the test build: no environment
# variable can change how the release binary commits.
SRCS := $(filter-out src/test_hooks.c,$(wildcard src/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS := $(SRCS:src/%.c=$(O)/obj/%.o)
ASAN_OBJS := $(SRCS:src/%.c=$(O)/asan/%.o) $(O)/asan/test_hooks.o
ASAN_LIB_OBJS := $(LIB_SRCS:src/%.c=$(O)/asan/%.o) $(O)/asan/test_hooks.o
FUZZ_LIB_OBJS := $(LIB_SRCS:src/%.c=$(O)/fuzz/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_TIME ?= 20

.PHONY: all clean install uninstall check deps demo unit golden netns fuzz valgrind asan bench deb dist-check
.DELETE_ON_ERROR:
# These objects are named only as prerequisites of pattern rules, so make would take them for intermediate files
# and delete them after each build, rebuilding every library object on every `make fuzz` or `make unit`.
.SECONDARY: $(ASAN_LIB_OBJS) $(FUZZ_LIB_OBJS)

UNITS := tlswall.service tlswall-reapply.service
all: $(O)/tlswall $(UNITS:%=$(O)/%)

# the units name the installed binary; `make O=... SBINDIR=...` makes them for a test tree
$(O)/%.service: contrib/systemd/%.service.in
	$(call say,GEN,$@)
	$(Q)mkdir -p $(O)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' $< >$@

$(O)/tlswall: $(OBJS)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/obj/%.o: src/%.c | $(O)/obj
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The same program with AddressSanitizer and UndefinedBehaviorSanitizer and the test hooks: the unit and golden
# tests use it, and so do the namespace tests (as TBIN) wherever they need a hook or the sanitizers.
asan: $(O)/asan/tlswall
$(O)/asan/tlswall: $(ASAN_OBJS)
	$(call say,LINK,$@)
	$(Q)$(CC) $(SANITIZE) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/asan/%.o: src/%.c | $(O)/asan
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANITIZE) -DTLSWALL_TEST_HOOKS -O1 -c -o $@ $<

$(O)/tests/test_%: tests/unit/test_%.c $(ASAN_LIB_OBJS) | $(O)/tests
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANITIZE) -O1 -o $@ $< $(ASAN_LIB_OBJS) $(PKG_LIBS) \
		$(shell $(PKG_CONFIG) --libs cmocka)

# libFuzzer needs clang; the library objects get coverage instrumentation, the target links the fuzzer runtime.
$(O)/fuzz/%.o: src/%.c | $(O)/fuzz
	$(call say,CLANG,$@)
	$(Q)$(CLANG) $(ALL_CFLAGS) -g -O1 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS) | $(O)/fuzz
	$(call say,CLANG,$@)
	$(Q)$(CLANG) $(ALL_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB_OBJS) $(PKG_LIBS)

# The default policy is built into the binary: it is the emergency ruleset when boot finds neither a valid policy
# nor a last-known-good one.
$(O)/gen/default_policy.h: policies/default.conf
	$(call say,GEN,$@)
	$(Q)mkdir -p $(O)/gen
	$(Q){ echo '/* generated from policies/default.conf by the Makefile: do not edit */'; \
	  echo 'static const char default_policy_text[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; echo ';'; } >$@
$(O)/obj/cmd_boot.o $(O)/asan/cmd_boot.o $(O)/fuzz/cmd_boot.o: $(O)/gen/default_policy.h

$(O)/obj $(O)/asan $(O)/tests $(O)/fuzz:
	$(Q)mkdir -p $@

deps:
	$(Q)scripts/deps.sh

unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

golden: $(O)/asan/tlswall
	$(Q)tests/golden/run.sh $(O)/asan/tlswall

netns: $(O)/tlswall $(O)/asan/tlswall
	$(Q)tests/netns/run.sh $(O)/tlswall $(O)/asan/tlswall

# tlswall versus nft -f, in network namespaces of its own (needs root); tables go to bench/results/
bench: $(O)/tlswall
	$(Q)bench/run.sh $(O)/tlswall

fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(O)/fuzz/corpus-$$n; \
		echo "== $$n for $(FUZZ_TIME)s"; \
		$$f -max_total_time=$(FUZZ_TIME) -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
			$(O)/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>$(O)/fuzz/$$n.log || \
			{ tail -n 60 $(O)/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|stat::peak_rss' $(O)/fuzz/$$n.log; done

valgrind: $(O)/tlswall
	$(Q)tests/valgrind.sh $(O)/tlswall

# What is shipped around the program: man pages (mandoc -T lint), bash completion, the Debian package (built,
# lintian, installed and purged in a throwaway Debian chroot) and the Ansible role (run against namespaces).
dist-check: $(O)/tlswall
	$(Q)tests/dist/run.sh $(O)/tlswall

# the Debian package, built from this tree into $(O)/deb (see debian/)
deb:
	$(Q)scripts/deb.sh $(O)/deb

check: deps
	$(Q)$(MAKE) --no-print-directory all asan $(UNIT_BINS)
	$(Q)$(MAKE) --no-print-directory unit golden valgrind netns fuzz dist-check
	@echo "make check: all tests passed"

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(O)/tlswall policies/default.conf

# The same files the Debian package installs. The units are written with the install-time paths (not taken from
# $(O), which may have been built with others); an existing policy is never overwritten; the units are installed,
# not enabled: "systemctl enable tlswall" enables both.
install: $(O)/tlswall
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/tlswall $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	install -m 0755 $(O)/tlswall $(DESTDIR)$(SBINDIR)/tlswall
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' \
			contrib/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 man/tlswall.8 $(DESTDIR)$(MANDIR)/man8/tlswall.8
	install -m 0644 man/tlswall.conf.5 $(DESTDIR)$(MANDIR)/man5/tlswall.conf.5
	install -m 0644 contrib/bash-completion/tlswall $(DESTDIR)$(BASHCOMPDIR)/tlswall
	test -e $(DESTDIR)$(SYSCONFDIR)/tlswall/tlswall.conf || \
		install -m 0600 policies/default.conf $(DESTDIR)$(SYSCONFDIR)/tlswall/tlswall.conf

# keeps the policy and the state directory, as removing the Debian package does
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tlswall $(DESTDIR)$(MANDIR)/man8/tlswall.8 $(DESTDIR)$(MANDIR)/man5/tlswall.conf.5 \
		$(UNITS:%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(BASHCOMPDIR)/tlswall

clean:
	rm -rf $(O)

# (a fuzz target's .d names the headers it includes, tests/fuzz/table_fuzz.h among them)
-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d)
