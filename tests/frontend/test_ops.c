/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-ops: every FUSE opcode against the real daemon, checking replies and the effect on
 * the shared directory. Usage: test_ops DAEMON (or $VFSD_TEST_DAEMON). TAP on stdout.
 */
#include "harness.h"

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {
		th_init_tests,	 th_entry_tests,   th_attr_tests, th_file_tests,
		th_dir_tests,	 th_xattr_tests,   th_lock_tests, th_misc_tests,
		th_config_tests, th_session_tests, NULL,
	};
	return th_main(argc, argv, families);
}
