# Unit tests (Check): one binary per pure module. Included from Makefile.am.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'

check_PROGRAMS += tests/unit/check_value tests/unit/check_addr \
	tests/unit/check_diag tests/unit/check_config tests/unit/check_log
TESTS += tests/unit/check_value tests/unit/check_addr \
	tests/unit/check_diag tests/unit/check_config tests/unit/check_log

tests_unit_check_value_SOURCES = tests/unit/check_value.c tests/unit/unit.h src/value.c
tests_unit_check_value_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_value_LDADD = $(CHECK_LIBS)

tests_unit_check_addr_SOURCES = tests/unit/check_addr.c tests/unit/unit.h src/addr.c
tests_unit_check_addr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_addr_LDADD = $(CHECK_LIBS)

tests_unit_check_diag_SOURCES = tests/unit/check_diag.c tests/unit/unit.h src/diag.c
tests_unit_check_diag_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_diag_LDADD = $(CHECK_LIBS)

tests_unit_check_config_SOURCES = tests/unit/check_config.c tests/unit/unit.h $(PURE_CONFIG_SOURCES)
tests_unit_check_config_CFLAGS = $(UNIT_CFLAGS) $(INIH_CFLAGS)
tests_unit_check_config_LDADD = $(CHECK_LIBS) $(INIH_LIBS)

tests_unit_check_log_SOURCES = tests/unit/check_log.c tests/unit/unit.h src/log.c
tests_unit_check_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_log_LDADD = $(CHECK_LIBS)
endif
