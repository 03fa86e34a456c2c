/*
 * daemon: process-level plumbing around the workers: the file descriptor
 * limit, the worker threads and their listening sockets, signals (drain on
 * SIGTERM/SIGINT, certificate reload on SIGHUP) and the periodic check of
 * certificate files. Runs on the main thread.
 */
#ifndef MQGATE_DAEMON_H
#define MQGATE_DAEMON_H

#include "config.h"

struct tls_gen;

/*
 * Raise the soft RLIMIT_NOFILE to the hard limit and work out how many
 * connections fit (two descriptors each, after a reserve for listeners and
 * the event loops). Logs a warning naming both numbers when max_connections
 * does not fit. Returns the effective connection limit.
 */
long daemon_fit_nofile(const struct config *cfg, int nworkers);

/* Number of event-loop threads: cfg's workers, or the CPUs we may run on. */
int daemon_nworkers(const struct config *cfg);

/*
 * Bind every listener, start the workers and run the main loop until a
 * shutdown is complete. Takes ownership of gen (a reference). Returns the
 * process exit code: 0 after a clean shutdown, 1 when start-up failed
 * (nothing is left running then).
 */
int daemon_run(const struct config *cfg, struct tls_gen *gen);

#endif
