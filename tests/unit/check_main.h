/*
 * check_main: the end of every unit test's main(). Runs a Check suite and
 * turns its outcome into the exit status the Automake test driver reads.
 */
#ifndef MASS_CHECK_MAIN_H
#define MASS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Runs s (the runner frees it). Returns EXIT_SUCCESS when no test failed, else EXIT_FAILURE. */
static inline int check_main_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
