/* test_cp_local: the node-local settings file: TLS keys or insecure, %n, groups, and errors that
 * name the file, the line and the key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cp_local.h"

static char path[64];
static char err[512];

static int load(const char *text, struct cp_local *l)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = 0;
	return cp_local_load(path, 4, l, err, sizeof(err));
}

/* err is "PATH:<line>: <rest>" */
static void expect_err(int line, const char *rest)
{
	char want[256];
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, rest);
	else
		snprintf(want, sizeof(want), "%s: %s", path, rest);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got '%s', want it to start with '%s'", err, want);
}

static void test_ok(void **state)
{
	(void)state;
	struct cp_local l;
	assert_int_equal(load("; node 4\n[control]\ntls_cert = /t/node-%n.crt\ntls_key = /t/k%n\n"
			      "tls_ca = /t/ca.crt\napi_group = 0\napi_admin_group = root\n", &l), 0);
	assert_string_equal(l.tls_cert, "/t/node-4.crt");
	assert_string_equal(l.tls_key, "/t/k4");
	assert_string_equal(l.tls_ca, "/t/ca.crt");
	assert_false(l.insecure);
	assert_true(l.has_api_group && l.api_group == 0);
	assert_true(l.has_api_admin_group && l.api_admin_group == 0);
	assert_int_equal(load("insecure = true\n", &l), 0);
	assert_true(l.insecure);
	assert_false(l.has_api_group);
	assert_string_equal(l.metrics_listen, "");
	assert_int_equal(load("insecure = true\nmetrics_listen = [::1]:9464\n", &l), 0);
	assert_string_equal(l.metrics_listen, "[::1]:9464");
	assert_int_equal(l.metrics_line, 2);
}

static void test_errors(void **state)
{
	(void)state;
	struct cp_local l;
	assert_int_equal(load("[control]\napi_group = 0\n", &l), -EINVAL);
	expect_err(0, "no tls_cert/tls_key/tls_ca and no insecure = true");
	assert_int_equal(load("[control]\n\ninsecure = false\n", &l), -EINVAL);
	expect_err(3, "insecure: false, and no tls_cert");
	assert_int_equal(load("[control]\ntls_cert = a\ntls_ca = c\n", &l), -EINVAL);
	expect_err(2, "tls_cert: tls_key is missing");
	assert_int_equal(load("tls_cert = a\ntls_key = b\ntls_ca = c\ninsecure = true\n", &l), -EINVAL);
	expect_err(4, "insecure: true, but tls_cert/tls_key/tls_ca are set too (line 1)");
	assert_int_equal(load("[control]\ninsecure = yes\n", &l), -EINVAL);
	expect_err(2, "insecure: want true or false, got 'yes'");
	assert_int_equal(load("[control]\ninsecure = true\ntls = 1\n", &l), -EINVAL);
	expect_err(3, "tls: unknown key");
	assert_int_equal(load("[tls]\ninsecure = true\n", &l), -EINVAL);
	expect_err(2, "insecure: unknown section [tls]");
	assert_int_equal(load("insecure = true\ninsecure = true\n", &l), -EINVAL);
	expect_err(2, "insecure: duplicate key (first on line 1)");
	assert_int_equal(load("insecure = true\napi_group = no-such-group-rumor\n", &l), -EINVAL);
	expect_err(2, "api_group: no such group 'no-such-group-rumor'");
	assert_int_equal(load("insecure = true\nthis is not ini\n", &l), -EINVAL);
	expect_err(2, "syntax error");
	assert_int_equal(load("insecure = true\nmetrics_listen = 127.0.0.1:0\n", &l), -EINVAL);
	expect_err(2, "metrics_listen: bad port in '127.0.0.1:0' (want 1..65535)");
	assert_int_equal(load("insecure = true\n\nmetrics_listen = localhost:9464\n", &l), -EINVAL);
	expect_err(3, "metrics_listen: bad IPv4 address in 'localhost:9464'");
	assert_int_equal(load("insecure = true\nmetrics_listen = 9464\n", &l), -EINVAL);
	expect_err(2, "metrics_listen: want host:port, got '9464'");
	assert_int_equal(cp_local_load("/nonexistent/x.conf", 1, &l, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_errors),
	};
	snprintf(path, sizeof(path), "/tmp/test_cp_local.%d.conf", (int)getpid());
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
