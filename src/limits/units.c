/* units: decimals, sizes and rates with binary suffixes. See units.h. */
#include "units.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Digits from *p, at most max; *p moves past them. Returns -1 on overflow or none. */
static int units_digits(const char **p, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

/* The value without blanks around it, copied into buf; -1 when too long. */
static int units_trim(const char *s, char *buf, size_t len)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int units_decimal(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	char buf[32];
	const char *p = buf;
	uint64_t v;

	if (units_trim(s, buf, sizeof(buf)) != 0 || buf[0] == '\0' ||
	    units_digits(&p, UINT64_MAX, &v) != 0 || *p != '\0') {
		snprintf(err, errlen, "\"%s\" is not a whole number from 0 to %llu", s,
			 (unsigned long long)max);
		return -1;
	}
	if (v > max) {
		snprintf(err, errlen, "%llu is more than %llu", (unsigned long long)v,
			 (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* The power of 1024 of a suffix letter, or -1. */
static int units_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return -1;
	}
}

/*
 * NUMBER[.FRACTION][K|M|G|T][i][B][/s]. The fraction keeps up to 6
 * decimal digits (below 2^20), so shifted by at most 40 it stays in 64
 * bits; "1.5G" is exact, further digits round down.
 */
static int units_parse(const char *s, bool rate, uint64_t *out, char *err, size_t errlen)
{
	char buf[48];
	const char *p = buf, *what = rate ? "rate" : "size";
	uint64_t whole, frac = 0, scale = 1;
	int shift = 0;

	if (units_trim(s, buf, sizeof(buf)) != 0)
		goto bad;
	if (buf[0] == '-') {
		snprintf(err, errlen, "negative %s \"%s\"", what, s);
		return -1;
	}
	if (units_digits(&p, UINT64_MAX, &whole) != 0) {
		if (*p >= '0' && *p <= '9') {
			snprintf(err, errlen, "%s \"%s\" is too large (at most 1P)", what, s);
			return -1;
		}
		goto bad;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		for (; *p >= '0' && *p <= '9'; p++)
			if (scale < 1000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	}
	if ((shift = units_shift(*p)) >= 0) {
		p++;
		if (*p == 'i')
			p++;
	} else {
		shift = 0;
		if (scale > 1)
			goto bad;   /* "1.5" bytes means nothing */
	}
	if (*p == 'B')
		p++;
	if (rate && p[0] == '/' && p[1] == 's')
		p += 2;
	if (*p != '\0')
		goto bad;
	if (whole > UNITS_MAX >> shift ||
	    (whole << shift) + ((frac << shift) / scale) > UNITS_MAX) {
		snprintf(err, errlen, "%s \"%s\" is too large (at most 1P)", what, s);
		return -1;
	}
	*out = (whole << shift) + (frac << shift) / scale;
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not a %s (a number with an optional K, M, G or T "
		 "suffix, binary: 1K = 1024%s)", s, what, rate ? ", per second" : "");
	return -1;
}

int units_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	return units_parse(s, false, out, err, errlen);
}

int units_rate(const char *s, uint64_t *out, char *err, size_t errlen)
{
	return units_parse(s, true, out, err, errlen);
}

int units_format(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		int shift = 40 - 10 * i;
		uint64_t unit = UINT64_C(1) << shift;

		if (v != 0 && v % unit == 0)
			return snprintf(buf, len, "%llu%c", (unsigned long long)(v >> shift),
					suffix[i]);
	}
	return snprintf(buf, len, "%llu", (unsigned long long)v);
}
