# Unit tests (Check): one binary per pure module. Included from Makefile.am.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'

check_PROGRAMS += tests/unit/check_value tests/unit/check_addr \
	tests/unit/check_diag tests/unit/check_config tests/unit/check_log \
	tests/unit/check_sni tests/unit/check_secrets tests/unit/check_allow \
	tests/unit/check_text
TESTS += tests/unit/check_value tests/unit/check_addr \
	tests/unit/check_diag tests/unit/check_config tests/unit/check_log \
	tests/unit/check_sni tests/unit/check_secrets tests/unit/check_allow \
	tests/unit/check_text

tests_unit_check_text_SOURCES = tests/unit/check_text.c tests/unit/unit.h \
	src/text.c src/text.h
tests_unit_check_text_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_text_LDADD = $(CHECK_LIBS)

tests_unit_check_value_SOURCES = tests/unit/check_value.c tests/unit/unit.h src/value.c
tests_unit_check_value_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_value_LDADD = $(CHECK_LIBS)

tests_unit_check_addr_SOURCES = tests/unit/check_addr.c tests/unit/unit.h src/addr.c
tests_unit_check_addr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_addr_LDADD = $(CHECK_LIBS)

tests_unit_check_diag_SOURCES = tests/unit/check_diag.c tests/unit/unit.h src/diag.c
tests_unit_check_diag_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_diag_LDADD = $(CHECK_LIBS)

tests_unit_check_config_SOURCES = tests/unit/check_config.c tests/unit/unit.h \
	tests/unit/fault.c tests/unit/fault.h $(PURE_CONFIG_SOURCES)
tests_unit_check_config_CFLAGS = $(UNIT_CFLAGS) $(INIH_CFLAGS)
tests_unit_check_config_LDADD = $(CHECK_LIBS) $(INIH_LIBS)

tests_unit_check_log_SOURCES = tests/unit/check_log.c tests/unit/unit.h src/log.c \
	src/text.c
tests_unit_check_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_log_LDADD = $(CHECK_LIBS)

# check_sni fails each allocation in turn through the linker's --wrap.
tests_unit_check_sni_SOURCES = tests/unit/check_sni.c tests/unit/unit.h src/sni.c
tests_unit_check_sni_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sni_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
tests_unit_check_sni_LDADD = $(CHECK_LIBS)

tests_unit_check_secrets_SOURCES = tests/unit/check_secrets.c tests/unit/unit.h \
	tests/unit/fault.c tests/unit/fault.h \
	src/secrets.c src/diag.c
tests_unit_check_secrets_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_secrets_LDADD = $(CHECK_LIBS)

tests_unit_check_allow_SOURCES = tests/unit/check_allow.c tests/unit/unit.h src/allow.c
tests_unit_check_allow_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_allow_LDADD = $(CHECK_LIBS)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_proxyv2
TESTS += tests/unit/check_proxyv2
tests_unit_check_proxyv2_SOURCES = tests/unit/check_proxyv2.c tests/unit/unit.h \
	src/proxyv2.c src/proxyv2.h
tests_unit_check_proxyv2_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_proxyv2_LDADD = $(CHECK_LIBS)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_mqtt
TESTS += tests/unit/check_mqtt
tests_unit_check_mqtt_SOURCES = tests/unit/check_mqtt.c tests/unit/unit.h src/mqtt.c \
	src/text.c
tests_unit_check_mqtt_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_mqtt_LDADD = $(CHECK_LIBS)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_mqtt_bind
TESTS += tests/unit/check_mqtt_bind
tests_unit_check_mqtt_bind_SOURCES = tests/unit/check_mqtt_bind.c tests/unit/unit.h \
	src/mqtt_bind.c src/mqtt_bind.h src/mqtt.c src/mqtt.h src/text.c
# tls_info.h (struct tls_facts) includes OpenSSL's headers; nothing links it.
tests_unit_check_mqtt_bind_CFLAGS = $(UNIT_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_check_mqtt_bind_LDADD = $(CHECK_LIBS)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_balance
TESTS += tests/unit/check_balance
tests_unit_check_balance_SOURCES = tests/unit/check_balance.c tests/unit/unit.h \
	src/balance.c src/balance.h
tests_unit_check_balance_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_balance_LDADD = $(CHECK_LIBS) -lm
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/check_pool
TESTS += tests/unit/check_pool
tests_unit_check_pool_SOURCES = tests/unit/check_pool.c tests/unit/unit.h \
	tests/unit/fault.c tests/unit/fault.h \
	src/pool.c src/pool.h src/balance.c src/balance.h src/log.c src/text.c \
	$(PURE_CONFIG_SOURCES)
tests_unit_check_pool_CFLAGS = $(UNIT_CFLAGS) $(INIH_CFLAGS)
tests_unit_check_pool_LDADD = $(CHECK_LIBS) $(INIH_LIBS) -lm -lpthread
endif
