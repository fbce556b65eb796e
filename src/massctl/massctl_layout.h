/*
 * massctl_layout: prints a reply by the reply layout its index declares
 * (core/layout.h, mass-protocol(7)), so `massctl raw` shows a third-party
 * plugin's fields by name: as text, one "NAME VALUE" line per field (a
 * list's fields as LIST[N].NAME), or as one JSON object whose members are
 * the fields (a list: an array of objects; u8/u32/u64: numbers; str: a
 * string). Text from the reply is escaped in both forms.
 *
 * The reply is checked whole before anything is printed: a reply that does
 * not follow the layout prints nothing and returns -1 with the reason.
 */
#ifndef MASS_MASSCTL_LAYOUT_H
#define MASS_MASSCTL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Prints data (len octets after the status) by layout on out: JSON (the
 * object, braces included, no newline) when json, else text lines.
 * Returns 0, or -1 with err set (malformed layout or reply).
 */
int massctl_layout_print(FILE *out, const char *layout, const uint8_t *data, size_t len,
			 bool json, char *err, size_t errlen);

/* Network text for humans: printable ASCII as is, '\\' and other octets as \xHH. */
void massctl_text_put(FILE *out, const char *s, size_t len);

#endif
