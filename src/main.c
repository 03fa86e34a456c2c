/*
 * main: command line, start-up order and exit codes. Everything that can
 * be wrong with the configuration is found and reported before anything is
 * bound: parse, validate, load every certificate, then start.
 */
#include "build_config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "diag.h"
#include "log.h"
#include "tls_ctx.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static const char default_config[] = SYSCONFDIR "/mqgate/mqgate.ini";

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mqgate [-c FILE] [-t] [-V] [-h]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --test         check the configuration, load every "
	    "certificate and key,\n"
	    "                     print \"configuration OK\" and exit\n"
	    "  -V, --version      print the versions of mqgate, OpenSSL and "
	    "libevent\n"
	    "  -h, --help         print this help\n",
	    default_config);
}

static void
version(void)
{
	printf("mqgate %s\n", PACKAGE_VERSION);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libevent %s\n", event_get_version());
}

static void
print_diag(const struct diag *d)
{
	diag_print(d, stderr);
	fflush(stderr);
}

/* Load each listener's certificate, key and CA files that the (partly
 * broken) config names, adding their problems to d. */
static void
check_tls_files(const struct config *cfg, struct diag *d)
{
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];

		if (l->tls.certfile != NULL && l->tls.keyfile == NULL)
			continue;
		SSL_CTX_free(tls_ctx_build(cfg, l, d));
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = default_config;
	bool test_only = false;
	struct config *cfg;
	struct tls_gen *gen;
	struct diag d;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'V':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mqgate: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}

	diag_init(&d);
	cfg = config_load_file_partial(path, &d);
	if (cfg == NULL || diag_count(&d) > 0) {
		/* Still load the certificates that the config names, so that
		 * every problem is reported in one go. */
		if (cfg != NULL)
			check_tls_files(cfg, &d);
		print_diag(&d);
		diag_clear(&d);
		config_free(cfg);
		return 1;
	}
	log_set_level(cfg->global.log_level);

	if (evthread_use_pthreads() < 0) {
		log_error("libevent has no thread support");
		config_free(cfg);
		return 1;
	}
	gen = tls_gen_build(cfg, 1, &d);
	if (gen == NULL) {
		print_diag(&d);
		diag_clear(&d);
		config_free(cfg);
		return 1;
	}
	diag_clear(&d);

	if (test_only) {
		daemon_fit_nofile(cfg, daemon_nworkers(cfg));
		tls_gen_unref(gen);
		config_free(cfg);
		printf("configuration OK\n");
		return 0;
	}

	rc = daemon_run(cfg, gen);
	config_free(cfg);
	libevent_global_shutdown();
	return rc;
}
