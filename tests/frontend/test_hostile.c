/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-hostile: a compromised guest and a misbehaving frontend against the real daemon (see
 * hostile.h). Usage: test_hostile DAEMON (or $VFSD_TEST_DAEMON). TAP on stdout; the daemon's
 * stderr goes to <tmp>/daemon.log, checked for sanitizer reports after every test.
 */
#include "hostile.h"

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {
		hx_ring_tests, hx_vhu_tests, hx_fuse_tests, hx_path_tests, NULL,
	};
	th_capture_log = true;
	th_after_test = hx_check_log;
	return th_main(argc, argv, families);
}
