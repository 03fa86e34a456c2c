/*
 * fault: allocation fault injection for the unit tests of pure modules.
 * Outside sanitizer builds, fault.c replaces malloc, calloc, realloc and
 * free: it fails the allocation that fault_countdown reaches 0 on, and
 * counts live blocks, so that a test can make every allocation of a parse
 * fail in turn and see that nothing leaks. Test code only.
 */
#ifndef MQGATE_UNIT_FAULT_H
#define MQGATE_UNIT_FAULT_H

#if !defined(__SANITIZE_ADDRESS__)
#define UNIT_FAULTS 1

/* Fail when it reaches 0 (counting allocations down); -1 = never. */
extern long fault_countdown;
/* Blocks allocated and not yet freed. */
extern long live_blocks;
#endif

#endif
