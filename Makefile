# ketch: plain GNU make. See INSTALL.

PREFIX ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/libexec/ketch
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# the directory of the default configuration (ketch.conf); a set-uid enqueue reads only that one
SYSCONFDIR ?= /etc/ketch
DESTDIR ?=

CC ?= cc
OPT ?= -O2
# WERROR=1 (CI) turns warnings into errors
WERROR ?=
SAN ?=
CPPFLAGS_KETCH = -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700 -D_FORTIFY_SOURCE=2 \
  -DKETCH_LIBEXECDIR=\"$(LIBEXECDIR)\" -DKETCH_CONF_DEFAULT=\"$(SYSCONFDIR)/ketch.conf\" -Ilib
CFLAGS_KETCH = -std=c99 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith \
  -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration \
  -fstack-protector-strong -fPIE $(if $(WERROR),-Werror) $(SAN)
LDFLAGS_KETCH = -pie -Wl,-z,relro,-z,now $(SAN)
# skalibs and BearSSL are linked statically: installed programs need only libc.
# libsodium gives Ed25519 to DKIM (lib/dkimkey.c) and X25519 to TLS
# (lib/ecimpl.c): a static archive too, so only the programs that use
# those modules (enqueue, enqueue-listen, ketch-dkim, conf-check; the TLS
# ones: smtp-listen, smtp-session, smtp-keyd, remote-send, ...) carry it
LIBS_KETCH = -Wl,-Bstatic -lbearssl -lsodium -lskarnet -Wl,-Bdynamic
LIBS_EXTRA = -lcrypt -lresolv
# OpenSSL's libcrypto makes smtp-keyd's signatures (lib/keysign.c: RSA 5
# times, ECDSA P-256 20 times faster than BearSSL 0.6); linked statically
# too, into smtp-keyd alone (and keysign's unit test)
LIBS_CRYPTO = -Wl,-Bstatic -lcrypto -Wl,-Bdynamic

B = build
LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
BIN_SRC = $(wildcard bin/*.c)
TOOL_SRC = $(wildcard tools/*.c)
TOOL_SH = $(wildcard tools/*.sh)
PROGS = $(BIN_SRC:bin/%.c=$(B)/bin/%) $(TOOL_SRC:tools/%.c=$(B)/bin/%) $(TOOL_SH:tools/%.sh=$(B)/bin/%)
UNIT_SRC = $(wildcard t/unit/*.c)
UNITS = $(UNIT_SRC:t/unit/%.c=$(B)/t/unit/%.t)
# programs an operator runs, installed in SBINDIR as well
OPERATOR = queue-ls queue-ctl conf-check mkspool sendmail mailq newaliases ketch-passwd ketch-services ketch-reload ketch-route ketch-dkim ketch-doctor ketch-stats

.PHONY: all progs deb deps deps-run fresh-test test check check-asan crashtest powercut powercut-peers fuzz fuzz-build unit run install clean bench bench-tls bench-scale bench-queue FORCE
.SECONDARY:

all: $(PROGS) $(B)/bin/mailq $(UNITS) $(B)/t/failsys.so $(B)/t/enqueue-dyn

$(B)/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(B)/lib
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# the programs directory and the default configuration are compiled in:
# a new PREFIX or SYSCONFDIR rebuilds what uses them
$(B)/libexecdir: FORCE | $(B)/lib
	@echo '$(LIBEXECDIR) $(SYSCONFDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR) $(SYSCONFDIR)' > $@
$(B)/lib/conf.o: $(B)/libexecdir

$(B)/libketch.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/%: bin/%.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/bin
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

$(B)/bin/smtp-keyd: bin/smtp-keyd.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/bin
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_CRYPTO) $(LIBS_KETCH) $(LIBS_EXTRA)

# enqueue runs once per message: it is linked statically (static PIE, no
# dynamic loader, no C library to map and relocate: 0.17 instead of 0.32 ms
# of CPU per exec here, t/bench/README.md). It calls no NSS function, which
# a static glibc could not load safely. Sanitizer builds link it as the
# others (there is no static ASan runtime). The fault tests need LD_PRELOAD,
# which a static program ignores: they run build/t/enqueue-dyn, the same
# source linked dynamically.
ifeq ($(SAN),)
ENQUEUE_LD = -static-pie
ENQUEUE_LIBS = -Wl,-Bstatic -lbearssl -lsodium -lskarnet $(LIBS_EXTRA)
else
ENQUEUE_LD =
ENQUEUE_LIBS = $(LIBS_KETCH) $(LIBS_EXTRA)
endif
$(B)/bin/enqueue: bin/enqueue.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/bin
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(ENQUEUE_LD) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(ENQUEUE_LIBS)

$(B)/t/enqueue-dyn: bin/enqueue.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/t/unit
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

# enqueue-listen's workers run once per many messages, but are forked on
# demand: static for the same reason as enqueue (enqueue-listen(8))
$(B)/bin/enqueue-listen: bin/enqueue-listen.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/bin
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(ENQUEUE_LD) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(ENQUEUE_LIBS)

# the same, dynamic, for the tests that need LD_PRELOAD (t/privsep-queue.t)
all: $(B)/t/enqueue-listen-dyn
$(B)/t/enqueue-listen-dyn: bin/enqueue-listen.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/t/unit
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

# lib/milter's side of a conversation with a real libmilter filter, for t/milter-proto.t
all: $(B)/t/milter-drive
$(B)/t/milter-drive: t/milter-drive.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/t/unit
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

$(B)/bin/%: tools/%.c $(B)/libketch.a $(wildcard lib/*.h) | $(B)/bin
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

$(B)/bin/%: tools/%.sh | $(B)/bin
	cp $< $@ && chmod 755 $@

# sendmail invoked as mailq lists the queue (sendmail(8)); newaliases is a program of its own
$(B)/bin/mailq: | $(B)/bin
	ln -sf sendmail $@

$(B)/t/unit/%.t: t/unit/%.c t/unit/tap.h $(B)/libketch.a | $(B)/t/unit
	$(CC) $(CPPFLAGS_KETCH) -It/unit $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA)

$(B)/t/unit/keysign.t: t/unit/keysign.c t/unit/tap.h $(B)/libketch.a | $(B)/t/unit
	$(CC) $(CPPFLAGS_KETCH) -It/unit $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -o $@ $< $(B)/libketch.a $(LIBS_CRYPTO) $(LIBS_KETCH) $(LIBS_EXTRA)

# fault injection for the tests (LD_PRELOAD)
$(B)/t/failsys.so: t/shim/failsys.c | $(B)/t/unit
	$(CC) -shared -fPIC -O2 -o $@ $< -ldl

# the power-cut filesystem of t/shim.t and t/powercut.t (t/shim/powercutfs.c),
# built only where libfuse3 is (Debian: libfuse3-dev); a test tool, so
# without the sanitizers: it is not under test
FUSE3 := $(shell pkg-config --exists fuse3 2>/dev/null && echo yes)
ifeq ($(FUSE3),yes)
all: $(B)/t/powercutfs
endif
$(B)/t/powercutfs: t/shim/powercutfs.c | $(B)/t/unit
	$(CC) -std=c99 -O2 -g -Wall -Wextra -Wno-unused-parameter $(if $(WERROR),-Werror) $(shell pkg-config --cflags fuse3) -o $@ $< $(shell pkg-config --libs fuse3)

$(B)/lib $(B)/bin $(B)/t/unit:
	mkdir -p $@

# Installs whatever Debian packages building and testing need (as root),
# or says exactly what to run; deps-run only what building and running need.
deps:
	@sh .ci/deps test
deps-run:
	@sh .ci/deps run

# The README's test command, as root, in a minimal Debian 12 root made with
# mmdebstrap from the host's apt mirror, on the committed HEAD (.ci/fresh-root).
# Long (the whole suite); not part of make test.
fresh-test:
	sh .ci/fresh-root

# The README's test command: packages, build, every test.
test: deps
	$(MAKE) WERROR=1 all
	$(MAKE) check
	$(MAKE) check-asan
	$(MAKE) fuzz FUZZ_TIME=$(CI_FUZZ_TIME)

# The SMTP tests, and the crash test, run a second time with smtp-listen -f
# (KETCH_LISTEN_FLAGS, t/smtp-lib.sh): the session code in forked
# processes that serve client after client.
FORK_T = $(filter-out t/smtp-listen-fork.t,$(wildcard t/smtp-*.t)) t/hostile.t t/crash.t

# Tests run JOBS at a time: most of them wait on sockets, timers and fsync,
# not on the CPU (the whole suite keeps half a core busy), so two cores
# finish it in less than half the time. SERIAL_T run one at a time after
# the others: they change the host (system paths, users) or assert on
# timing that a loaded machine stretches.
JOBS ?= 3
SERIAL_T = t/install.t t/install-system.t t/crash.t t/hostile.t t/sched-backlog.t t/smtp-listen-fork.t t/fault-deliver.t
# $(call PROVE,ENV,TESTS): the parallel ones, then the serial ones (an
# empty list runs nothing: prove without arguments would run t/*.t)
PROVE = $(if $(filter-out $(SERIAL_T),$(2)),$(1) prove -j$(JOBS) --exec '' --timer $(filter-out $(SERIAL_T),$(2)),true) \
  $(if $(filter $(SERIAL_T),$(2)),&& $(1) prove --exec '' --timer $(filter $(SERIAL_T),$(2)))

check: all
	$(call PROVE,KETCH_BUILD=$(CURDIR)/$(B),$(B)/t/unit/*.t $(wildcard t/*.t))
	$(call PROVE,KETCH_LISTEN_FLAGS=-f KETCH_BUILD=$(CURDIR)/$(B),$(FORK_T))

# A long crash-consistency run (t/crash.t; make check runs a short one).
CRASH_N ?= 3000
CRASH_SEND_TIME ?= 240
CRASH_DRAIN ?= 300
crashtest: all
	CRASH_N=$(CRASH_N) CRASH_SEND_TIME=$(CRASH_SEND_TIME) CRASH_DRAIN=$(CRASH_DRAIN) \
	  KETCH_BUILD=$(CURDIR)/$(B) prove --exec '' -v t/crash.t

# A long power-cut run (t/powercut.t on t/shim/powercutfs; make check runs a
# short one): POWERCUT_N cuts, at most POWERCUT_TIME seconds of load;
# POWERCUT_SEED, POWERCUT_RATE (messages/s offered), POWERCUT_DRAIN
# (seconds for the queue to drain at the end), POWERCUT_TORN=1,
# POWERCUT_DELIVER (maildir, or mbox).
POWERCUT_N ?= 500
POWERCUT_TIME ?= 1800
POWERCUT_DELIVER ?= maildir
# below what ketch delivers between cuts, so that the queue stays short
# and drains at the end (at 40/s, make check's rate, 500 cuts left 15000
# messages queued after a minute of drain)
POWERCUT_RATE ?= 10
POWERCUT_DRAIN ?= 600
powercut: all
	POWERCUT_N=$(POWERCUT_N) POWERCUT_TIME=$(POWERCUT_TIME) POWERCUT_DELIVER=$(POWERCUT_DELIVER) \
	  POWERCUT_RATE=$(POWERCUT_RATE) POWERCUT_DRAIN=$(POWERCUT_DRAIN) \
	  KETCH_BUILD=$(CURDIR)/$(B) prove --exec '' -v t/powercut.t

# The same load and cuts against Debian's Postfix and OpenSMTPD, unpacked
# by make bench (t/bench/bench.py) into /var/cache/ketch-bench; reported,
# not judged: spool-layout/GUARANTEES.md section 3 has the figures.
powercut-peers: all
	POWERCUT_N=$${POWERCUT_N:-50} KETCH_BUILD=$(CURDIR)/$(B) sh t/powercut-peers.sh

# The README's first command: an embedded instance in ./instance under s6-svscan.
INSTANCE ?= $(CURDIR)/instance
run: deps-run
	$(MAKE) all
	$(B)/bin/ketch-instance run "$(INSTANCE)"

# Sanitizers: the whole test suite against an ASan+UBSan build (CI runs it).
# Every report, from any process of any test (a daemon's too, which no test
# may be watching), goes to a file in $(SAN_LOG): one there fails the run.
SAN_LOG = $(CURDIR)/build-asan/san
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(SAN_LOG)/asan \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOG)/ubsan
# a subset: make check-asan ASAN_T=t/X.t FORK_T=t/X.t
# Left to make check: the install tests (file layout and modes, no code
# path of their own, 80 s under ASan) and the comparison with
# postfix-mta-sts-resolver (t/mta-sts.t runs the same cases under ASan),
# t/shim.t (the power-cut filesystem alone: no ketch code), and t/deb.t
# (packaging, no code path of its own either).
ASAN_SKIP = t/install.t t/install-system.t t/mta-sts-ref.t t/shim.t t/deb.t
ASAN_T = build-asan/t/unit/*.t $(filter-out $(ASAN_SKIP),$(wildcard t/*.t))
SAN_CHECK = if ls $(SAN_LOG)/* >/dev/null 2>&1 ; then cat $(SAN_LOG)/* ; echo "sanitizer reports in $(SAN_LOG)" ; exit 1 ; fi
check-asan:
	$(MAKE) B=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	rm -rf $(SAN_LOG) && mkdir -p $(SAN_LOG) && chmod 1777 $(SAN_LOG)
	( $(call PROVE,$(SAN_ENV) KETCH_SANITIZED=1 KETCH_BUILD=$(CURDIR)/build-asan,$(ASAN_T)) ) ; s=$$? ; $(SAN_CHECK) ; exit $$s
	( $(call PROVE,$(SAN_ENV) KETCH_LISTEN_FLAGS=-f KETCH_SANITIZED=1 KETCH_BUILD=$(CURDIR)/build-asan,$(FORK_T)) ) ; s=$$? ; $(SAN_CHECK) ; exit $$s

# libFuzzer harnesses (clang), one per parser, seeds in t/fuzz/corpus/NAME,
# a dictionary in t/fuzz/NAME.dict when there is one. Any sanitizer report
# is fatal: it aborts the fuzzer, which exits non-zero.
FUZZ_TIME ?= 60
# make test: 3 s each (41 harnesses, two minutes), over their corpora first
CI_FUZZ_TIME ?= 3
FUZZERS = $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/*.c))
FB = build-fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
fuzz-build:
	$(MAKE) B=$(FB) CC=clang OPT=-O1 SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FB)/libketch.a
	mkdir -p $(FB)/fuzz
	for f in $(FUZZERS) ; do clang $(CPPFLAGS_KETCH) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $(FB)/fuzz/$$f t/fuzz/$$f.c $(FB)/libketch.a $(LIBS_KETCH) $(LIBS_EXTRA) || exit 1 ; done

fuzz: fuzz-build
	for f in $(FUZZERS) ; do mkdir -p $(FB)/corpus/$$f t/fuzz/corpus/$$f ; \
	  d= ; [ -f t/fuzz/$$f.dict ] && d=-dict=t/fuzz/$$f.dict ; \
	  ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1 \
	  $(FB)/fuzz/$$f $$d -artifact_prefix=$(FB)/ -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=0 $(FB)/corpus/$$f t/fuzz/corpus/$$f || exit 1 ; done

# what make install puts in place, without the tests (the Debian package builds this)
progs: $(PROGS) $(B)/bin/mailq

install: all
	mkdir -p $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGS) ; do install -m 755 $$p $(DESTDIR)$(LIBEXECDIR)/ ; done
	for p in $(OPERATOR) ; do if [ -e $(B)/bin/$$p ] ; then ln -sf $(LIBEXECDIR)/$$p $(DESTDIR)$(SBINDIR)/$$p ; fi ; done
	# sendmail acts as mailq, and as newaliases when there is no alias compiler of that name
	ln -sf $(LIBEXECDIR)/sendmail $(DESTDIR)$(SBINDIR)/mailq
	[ -e $(B)/bin/newaliases ] || ln -sf $(LIBEXECDIR)/sendmail $(DESTDIR)$(SBINDIR)/newaliases
	mkdir -p $(DESTDIR)$(MANDIR)/man7
	for m in bin/*.[1578] tools/*.[1578] conf/*.[1578] spool-layout/*.[1578] ; do [ -e "$$m" ] || continue ; s=$${m##*.} ; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ ; done
	# man mailq: sendmail(8) is mailq's page too (newaliases has its own)
	ln -sf sendmail.8 $(DESTDIR)$(MANDIR)/man8/mailq.8
	mkdir -p $(DESTDIR)$(PREFIX)/share/doc/ketch && install -m 644 spool-layout/SPOOL spool-layout/GUARANTEES.md $(DESTDIR)$(PREFIX)/share/doc/ketch/

# The Debian package (conf/debian, INSTALL): the files git knows (in a
# tree without git, an unpacked archive, all but the build directories),
# as they are in the work tree, copied into $(DEB_TREE) with their times (so that
# a second build, DEB_VERSION=a higher one, compiles only what changed:
# hence -nc, no make clean first), conf/debian as debian/, DEB_VERSION in
# its changelog; dpkg-buildpackage leaves ketch_VERSION_ARCH.deb in $(B)/deb.
DEB_VERSION ?= $(shell dpkg-parsechangelog -l conf/debian/changelog -S Version)
DEB_TREE = $(B)/deb/ketch
deb:
	mkdir -p $(DEB_TREE)
	find $(DEB_TREE) -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
	if git rev-parse --git-dir >/dev/null 2>&1 ; then \
	  git ls-files -z -c -o --exclude-standard | xargs -0 sh -c 'for f ; do [ -e "$$f" ] && printf "%s\0" "$$f" ; done' sh | tar -c --null -T - -f - ; \
	else tar -c --exclude='./build*' --exclude=./instance -f - . ; fi | tar -x -f - -C $(DEB_TREE)
	cp -pR conf/debian $(DEB_TREE)/debian
	sed -i '1s/(.*)/($(DEB_VERSION))/' $(DEB_TREE)/debian/changelog
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b -nc
	@echo "ketch: $(B)/deb/ketch_$(DEB_VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb"

# Side-by-side benchmark (t/bench/README.md): ketch, Postfix and OpenSMTPD on
# 127.0.0.1; as root. Not part of make test. BENCH_ROUNDS, BENCH_MSGS... tune it.
$(B)/t/bench/fsync-limit: t/bench/fsync-limit.c | $(B)/t/bench
	$(CC) $(CPPFLAGS_KETCH) $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) -pthread -o $@ $<

$(B)/t/bench:
	mkdir -p $@

# W4's client is in C on OpenSSL's libssl, the library of Python's ssl that
# it replaces (t/bench/w4-client.c). Its headers are fetched as bench.py
# fetches its peers (written when libssl-dev was no dependency of ketch;
# smtp-keyd's libcrypto now makes it one, so the installed headers would
# do), apt-get download
# and dpkg -x into BENCH_CACHE, never installed (the installed libssl3's
# version if the archive still has it, else the archive's: OpenSSL 3.0 keeps
# its ABI), the architecture's two headers moved beside the others; the
# client is linked against the installed libssl.so.3 (.ci/deps TEST).
BENCH_CACHE ?= /var/cache/ketch-bench
SSL_DEV = $(BENCH_CACHE)/root-libssl-dev
$(SSL_DEV):
	mkdir -p $(BENCH_CACHE)
	cd $(BENCH_CACHE) && { ls libssl-dev_*.deb >/dev/null 2>&1 || apt-get download libssl-dev=$$(dpkg-query -W -f '$${Version}' libssl3) 2>/dev/null \
	  || apt-get download libssl-dev ; }
	rm -rf $@.tmp && dpkg -x $$(ls $(BENCH_CACHE)/libssl-dev_*.deb | sort -V | tail -n 1) $@.tmp
	cp $@.tmp/usr/include/*/openssl/*.h $@.tmp/usr/include/openssl/ && mv $@.tmp $@

$(B)/t/bench/w4-client: t/bench/w4-client.c | $(SSL_DEV) $(B)/t/bench
	$(CC) $(CPPFLAGS_KETCH) -I$(SSL_DEV)/usr/include $(CFLAGS_KETCH) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS_KETCH) $(LDFLAGS) \
	  -o $@ $< -l:libssl.so.3 -l:libcrypto.so.3

bench: all $(B)/t/bench/fsync-limit $(B)/t/bench/w4-client
	KETCH_BUILD=$(CURDIR)/$(B) python3 t/bench/bench.py
	$(MAKE) bench-tls

# W4: the cost of a STARTTLS handshake, ECDSA and RSA, exec'd and -f
# sessions; KETCH_BUILD_BEFORE=DIR/build compares with another tree
bench-tls: all
	KETCH_BUILD=$(CURDIR)/$(B) python3 t/bench/tls-handshake.py

# W1 at 1, 4, 16 and 64 sessions (BENCH_MSGS, 2000 messages), then W1 with
# BENCH_MSGS_LARGE (20000: does throughput hold as the queue grows?), W2 over
# SMTP, W3 at 1000 and 4000 sessions; L up to 64 threads. OpenSMTPD is left
# out unless BENCH_MTAS names it (20000 messages at its 8/s: 40 minutes).
SCALE_ENV = KETCH_BUILD=$(CURDIR)/$(B) BENCH_MTAS=$${BENCH_MTAS:-ketch,ketch-fork,postfix} BENCH_ROUNDS=$${BENCH_ROUNDS:-1} \
  BENCH_L_THREADS=1,2,16,64 BENCH_PHASE_TIMEOUT=$${BENCH_PHASE_TIMEOUT:-1500}
bench-scale: all $(B)/t/bench/fsync-limit
	$(SCALE_ENV) BENCH_MSGS=$${BENCH_MSGS:-2000} BENCH_WORKLOADS=w1 BENCH_W1_SESSIONS=1,4,16,64 python3 t/bench/bench.py
	$(SCALE_ENV) BENCH_MSGS=$${BENCH_MSGS_LARGE:-20000} BENCH_WORKLOADS=w1,w2m,w3 BENCH_W3_SESSIONS=1000,4000 python3 t/bench/bench.py
	$(MAKE) bench-queue

# the large queue (issue 8): 1,000,000 deferred messages (QSCALE_N), the
# scheduler's start, new mail beside the backlog, memory, queue-ls
bench-queue: all
	KETCH_BUILD=$(CURDIR)/$(B) python3 t/bench/queue-scale.py

clean:
	rm -rf $(B) build-asan $(FB)
