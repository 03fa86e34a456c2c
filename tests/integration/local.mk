# Integration tests: bash scripts driving the real daemon, mosquitto and
# openssl on loopback. Included from Makefile.am.
INTEGRATION_TESTS = \
	tests/integration/t_cli.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh
