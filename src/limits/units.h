/*
 * units: the one parser of plain decimals, byte sizes and byte rates in the
 * limits subsystem (mass.ini's [class NAME] keys, the quota store, MASS
 * parameters).
 *
 * Units are binary: K = KiB = 1024, M = MiB = 1024^2, G = 1024^3,
 * T = 1024^4. A suffix is one of K, M, G, T, optionally followed by "i"
 * and/or "B" ("10M", "10MiB", "10MB" and "10m" all mean 10 * 2^20 bytes:
 * a proxy's admins think in what `ls -lh` and their download tools show, and
 * one meaning for every spelling is less surprising than two). A bare "B"
 * means bytes. Rates may end in "/s" ("10M/s"). A fractional value is
 * allowed with a suffix ("1.5G"), rounded down to a whole byte. No sign,
 * no spaces inside the number, no exponent, no hex: "-1", " 1", "1e6" and
 * "0x10" are refused. Leading and trailing blanks around the whole value
 * are trimmed.
 *
 * Every value must be at most UNITS_MAX (2^50 bytes, or bytes per second:
 * 1 PiB/s, far above any link), so that a rate times a few seconds and a
 * sum of a few thousand sizes never overflow 64 bits.
 *
 * Returns 0 and stores the value, or -1 with a reason in err (never NULL
 * when errlen > 0). Pure.
 */
#ifndef MASS_UNITS_H
#define MASS_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define UNITS_MAX (UINT64_C(1) << 50)

/* A plain decimal 0..max (digits only, no suffix). */
int units_decimal(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen);

/* A byte size ("50G", "512KiB", "1000"), 0..UNITS_MAX. */
int units_size(const char *s, uint64_t *out, char *err, size_t errlen);

/* A rate in bytes per second ("10M", "10MiB/s", "0"), 0..UNITS_MAX. */
int units_rate(const char *s, uint64_t *out, char *err, size_t errlen);

/*
 * Formats a byte count with the largest binary suffix that divides it
 * exactly ("10M", "1536K", "7"), so units_size() reads it back unchanged.
 * Returns what snprintf returns.
 */
int units_format(uint64_t v, char *buf, size_t len);

#endif
