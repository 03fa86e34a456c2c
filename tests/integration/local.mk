# Integration tests: bash scripts driving the real daemon, mosquitto and
# openssl on loopback. Included from Makefile.am.
INTEGRATION_TESTS = \
	tests/integration/t_cli.sh \
	tests/integration/t_verify.sh \
	tests/integration/t_tls_versions.sh \
	tests/integration/t_chain.sh \
	tests/integration/t_keypass.sh \
	tests/integration/t_badinput.sh \
	tests/integration/t_reload.sh \
	tests/integration/t_drain.sh \
	tests/integration/t_limits.sh \
	tests/integration/t_traffic.sh \
	tests/integration/t_concurrent.sh \
	tests/integration/t_halfclose.sh \
	tests/integration/t_backpressure.sh \
	tests/integration/t_sni.sh \
	tests/integration/t_psk.sh \
	tests/integration/t_resume.sh \
	tests/integration/t_allow.sh \
	tests/integration/t_alpn.sh \
	tests/integration/t_crl.sh \
	tests/integration/t_crl_fetch.sh \
	tests/integration/t_ocsp.sh \
	tests/integration/t_mqtt_identity.sh \
	tests/integration/t_proxy_out.sh \
	tests/integration/t_proxy_in.sh \
	tests/integration/t_pool.sh \
	tests/integration/t_pool_dns.sh \
	tests/integration/t_connecting.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh
EXTRA_DIST += tests/integration/abuse.py tests/integration/abuse.sh
EXTRA_DIST += tests/integration/mqtt_tls_client.py tests/integration/fake_upstream.py
EXTRA_DIST += tests/integration/pki.sh tests/integration/crl_pki.sh
EXTRA_DIST += tests/integration/mqtt_raw.py
EXTRA_DIST += tests/integration/pp2_tool.py
EXTRA_DIST += tests/integration/pp_send.py
EXTRA_DIST += tests/integration/wire.py
EXTRA_DIST += tests/integration/pool_client.py
