/*
 * text: byte strings as text, shared by the parsers and the log: whether
 * bytes are well-formed UTF-8, and bytes as hexadecimal. Pure.
 */
#ifndef MQGATE_TEXT_H
#define MQGATE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1 to 4) of the well-formed UTF-8 character at the start of
 * p, of which len > 0 bytes are there (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF); 0 when there is none, or it is cut
 * short. U+0000 counts as a character: refusing it is the caller's rule.
 */
size_t text_utf8_len(const uint8_t *p, size_t len);

/* Write the n bytes of b as 2n lowercase hexadecimal digits and a NUL to
 * out (2n + 1 bytes). */
void text_hex(const uint8_t *b, size_t n, char *out);

#endif
