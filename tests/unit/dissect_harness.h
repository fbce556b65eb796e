/*
 * dissect_harness: feeds a transcript (steps of either direction) to a
 * dissector the way the relay does, and checks that every way of splitting
 * it gives the same reports.
 */
#ifndef MASS_DISSECT_HARNESS_H
#define MASS_DISSECT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect/dissect.h"

struct harness_step {
	enum dissect_dir dir;
	const char *data;
	size_t len;
};

#define C(s) { DISSECT_TO_SERVER, (s), sizeof(s) - 1 }
#define S(s) { DISSECT_TO_CLIENT, (s), sizeof(s) - 1 }
#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

struct harness_out {
	char text[16384];   /* "PROTO user pass result\n" per report, bytes outside
			     * printable ASCII (and '\\') as \xNN */
	bool stopped;       /* DISSECT_STOP was returned */
	bool watched;       /* dissect_start answered a dissector */
	bool pass;          /* the run does as the relay: after each feed it asks
			     * dissect_pass() and feeds none of the bytes let go */
	uint64_t unseen[2]; /* per direction: let go, not yet gone by */
	uint64_t passed[2]; /* per direction: every byte let go (dissect_pass' sum) */
};

/* The configured ports of the tests: the defaults (pop3 110, http 80 8080,
 * ftp 21, imap 143, smtp 25 587). */
void harness_ports(struct dissect_ports ports[DISSECT_COUNT]);

/*
 * Feeds steps to a dissector for port. chunk 0 feeds each step whole, else in
 * pieces of chunk bytes; step split_step (if < n) is fed in two pieces cut at
 * split_at. The first client step is given to dissect_start as first bytes.
 */
void harness_run(const struct harness_step *steps, size_t n, uint16_t port, size_t chunk,
		 size_t split_step, size_t split_at, struct harness_out *out);

/* The same, doing as the relay does with dissect_pass() (out->pass). */
void harness_run_pass(const struct harness_step *steps, size_t n, uint16_t port, size_t chunk,
		      size_t split_step, size_t split_at, struct harness_out *out);

/* Checks (ck_assert) that whole, byte by byte and every two-way split of
 * every step report exactly expected and stop (or not) as said, both
 * feeding every byte and letting go what dissect_pass() says. */
void harness_check(const struct harness_step *steps, size_t n, uint16_t port,
		   const char *expected, bool stop);

#endif
