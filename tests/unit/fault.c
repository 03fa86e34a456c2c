/*
 * fault.c: the allocator replacement described in fault.h. Sanitizer
 * builds bring their own allocator, so there this file is empty.
 */
#include "build_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "fault.h"

#if defined(UNIT_FAULTS)
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);

long fault_countdown = -1;
long live_blocks;

static bool
fault_now(void)
{
	if (fault_countdown < 0)
		return false;
	return fault_countdown-- == 0;
}

void *
malloc(size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = __libc_malloc(size)) != NULL)
		live_blocks++;
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = __libc_calloc(n, size)) != NULL)
		live_blocks++;
	return p;
}

void *
realloc(void *ptr, size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_realloc(ptr, size);
	if (ptr == NULL && p != NULL)
		live_blocks++;
	return p;
}

void
free(void *ptr)
{
	if (ptr != NULL)
		live_blocks--;
	__libc_free(ptr);
}
#endif
