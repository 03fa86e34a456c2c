/*
 * compat.h: compiler attribute macros and small helpers shared by every
 * module. Holds no state and no definitions beyond macros.
 */
#ifndef MQGATE_COMPAT_H
#define MQGATE_COMPAT_H

#define MQ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MQ_UNUSED __attribute__((unused))
#define MQ_NORETURN __attribute__((noreturn))

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

#endif
