/* cp_sendscan: every line it takes gives what jansson's path gives (json_loadb,
 * cp_sendreq_opts_json, cp_sendreq_pack), byte for byte; the lines outside its subset are
 * left to jansson. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cp_sendscan.h"
#include "rumor_msg.h"

#define MAX_EVENT 1400

static int scan(const char *line, size_t n, uint8_t *buf, size_t cap, struct cp_sendscan *s)
{
	return cp_sendscan(line, n, MAX_EVENT, buf, cap, s);
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* @line (@n bytes) is taken, and jansson's path agrees in every field and byte. */
static void same_n(const char *line, size_t n, size_t cap)
{
	uint8_t sbuf[RUMOR_MSG_ORIGINATE_DATA], jbuf[RUMOR_MSG_ORIGINATE_DATA];
	struct cp_sendscan s;
	struct cp_sendreq_opts o;
	char err[160];
	size_t len;
	uint16_t count;

	if (!scan(line, n, sbuf, cap, &s))
		fail_msg("not taken: %.*s", (int)n, line);
	json_t *req = json_loadb(line, n, 0, NULL);
	assert_non_null(req);
	assert_true(json_is_object(req));
	assert_string_equal(json_string_value(json_object_get(req, "cmd")), "send");
	cp_sendreq_opts_json(req, &o);
	assert_int_equal(cp_sendreq_pack(req, MAX_EVENT, 1500, jbuf, cap, &len, &count, err,
					 sizeof(err)), 0);
	assert_int_equal(s.opt.wait, o.wait);
	assert_int_equal(s.opt.ids, o.ids);
	assert_int_equal(s.opt.has_tag, o.has_tag);
	assert_int_equal(s.opt.tag, o.tag);
	assert_int_equal(s.opt.reqid_bad, o.reqid_bad);
	assert_true(streq(s.opt.reqid, o.reqid));
	assert_true(streq(s.opt.ack, o.ack));
	assert_int_equal(s.count, count);
	assert_int_equal(s.len, len);
	assert_memory_equal(sbuf, jbuf, len);
	json_decref(req);
}

static void same(const char *line)
{
	same_n(line, strlen(line), RUMOR_MSG_ORIGINATE_DATA);
}

static void mine_not_n(const char *line, size_t n)
{
	uint8_t buf[RUMOR_MSG_ORIGINATE_DATA];
	struct cp_sendscan s;

	if (scan(line, n, buf, sizeof(buf), &s))
		fail_msg("taken, should fall back: %.*s", (int)n, line);
}

static void not_mine(const char *line)
{
	mine_not_n(line, strlen(line));
}

static void sendscan_plain(void **state)
{
	uint8_t buf[64];
	struct cp_sendscan s;
	const char *l = "{\"cmd\":\"send\",\"data\":\"hello\"}";

	(void)state;
	assert_int_equal(scan(l, strlen(l), buf, sizeof(buf), &s), 1);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.len, 7);
	assert_memory_equal(buf, "\x05\x00hello", 7);
	assert_false(s.opt.wait);
	assert_true(s.opt.ids);
	assert_false(s.opt.has_tag);
	assert_null(s.opt.reqid);
	assert_null(s.opt.ack);
	same(l);
	same("{\"data\":\"\",\"cmd\":\"send\"}"); /* an empty event; cmd last */
}

static void sendscan_batch(void **state)
{
	(void)state;
	/* what tools/rumor_load.c sends */
	same("{\"cmd\":\"send\",\"ack\":\"durable\",\"ids\":false,\"tag\":42,\"request_id\":"
	     "\"load-1-4242-42\",\"batch\":[\"0000000042 SET key-42 value-aaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaa\",\"0000000043 SET key-43 value-bbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"\","
	     "\"x\"]}");
	same("{\"cmd\":\"send\",\"batch\":[\"a\"]}");
	/* a batch filling the message exactly: 2032 empty events is 4064 bytes */
	static char line[16384];
	size_t n = (size_t)snprintf(line, sizeof(line), "{\"cmd\":\"send\",\"batch\":[");
	for (unsigned i = 0; i < RUMOR_MSG_ORIGINATE_DATA / 2; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"\"", i ? "," : "");
	n += (size_t)snprintf(line + n, sizeof(line) - n, "]}");
	same_n(line, n, RUMOR_MSG_ORIGINATE_DATA);
	/* one more does not fit: jansson's path says so */
	memcpy(line + n - 2, ",\"\"]}", 5);
	mine_not_n(line, n + 3);
}

static void sendscan_escapes(void **state)
{
	uint8_t buf[64];
	struct cp_sendscan s;
	const char *l = "{\"cmd\":\"send\",\"data\":\"q\\\"b\\\\n\\nt\\ts\\/u\\u00e9U\\u20ac"
			"p\\ud83d\\ude00\\b\\f\\r\\u0041\\u00E9\"}";
	const char want[] = "q\"b\\n\nt\ts/u\xc3\xa9U\xe2\x82\xac" "p\xf0\x9f\x98\x80\b\f\rA\xc3\xa9";

	(void)state;
	assert_int_equal(scan(l, strlen(l), buf, sizeof(buf), &s), 1);
	assert_int_equal(s.len, 2 + sizeof(want) - 1);
	assert_memory_equal(buf + 2, want, sizeof(want) - 1);
	same(l);
	/* raw UTF-8, and escapes in keys and in cmd */
	same("{\"cmd\":\"send\",\"data\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	same("{\"\\u0063md\":\"s\\u0065nd\",\"d\\u0061ta\":\"x\"}");
	/* an escape at every place of strings around the word size (both scan loops) */
	for (size_t len = 0; len < 40; len++)
		for (size_t at = 0; at <= len; at++) {
			char line[256], ev[64];
			memset(ev, 'a', len);
			ev[len] = '\0';
			snprintf(line, sizeof(line), "{\"cmd\":\"send\",\"batch\":[\"%.*s\\n%s\","
				 "\"%.*s\xc3\xa9%s\"]}", (int)at, ev, ev + at, (int)at, ev, ev + at);
			same(line);
		}
}

static void sendscan_options(void **state)
{
	(void)state;
	same("{\"cmd\":\"send\",\"data\":\"x\",\"wait\":true}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"wait\":false}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"wait\":null}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ids\":false}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ids\":true}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ids\":null}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":0}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":-0}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":-17}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":999999999999999999}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":-999999999999999999}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":\"stamped\"}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":\"durable\"}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":\"applied\"}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":\"bogus\"}"); /* refused by send_run */
	same("{\"cmd\":\"send\",\"data\":\"x\",\"request_id\":\"\"}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"request_id\":\"r-1\"}");
	same("{\"cmd\":\"send\",\"data\":\"x\",\"request_id\":\"0123456789012345678901234567890"
	     "123456789012345678901234567890123\"}"); /* 64 bytes */
	same("{\"cmd\":\"send\",\"wait\":true,\"ids\":false,\"tag\":7,\"ack\":\"applied\","
	     "\"request_id\":\"abc\",\"data\":\"x\"}");
}

static void sendscan_whitespace(void **state)
{
	(void)state;
	same(" \t{ \"cmd\" : \"send\" ,\r \"batch\" : [ \"a\" , \"b\" ] , \"tag\" : 5 , "
	     "\"wait\" : true } \t\r");
	same("{\"cmd\":\"send\",\"batch\":[\"a\"\t,\r\"b\"\n]}");
}

static void sendscan_falls_back(void **state)
{
	(void)state;
	/* keys: twice, unknown, not a string */
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"data\":\"y\"}");
	not_mine("{\"cmd\":\"send\",\"cmd\":\"send\",\"data\":\"y\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"extra\":1}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"\":1}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"request_id_long_key\":1}");
	not_mine("{cmd:\"send\",\"data\":\"x\"}");
	/* values nested or of other types */
	not_mine("{\"cmd\":\"send\",\"batch\":[[\"a\"]]}");
	not_mine("{\"cmd\":\"send\",\"batch\":[\"a\",1]}");
	not_mine("{\"cmd\":\"send\",\"data\":{\"x\":1}}");
	not_mine("{\"cmd\":\"send\",\"data\":5}");
	not_mine("{\"cmd\":\"send\",\"batch\":\"a\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":\"5\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":1.5}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":1e3}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":01}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":1234567890123456789}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"tag\":-}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"wait\":1}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"wait\":truex}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":5}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"ack\":\"a-very-long-ack-value\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"request_id\":null}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"request_id\":\"0123456789012345678901234567"
		 "8901234567890123456789012345678901234\"}"); /* 65 bytes: cp_node refuses */
	/* not a send, or nothing to send */
	not_mine("{\"cmd\":\"status\"}");
	not_mine("{\"cmd\":\"sendx\",\"data\":\"x\"}");
	not_mine("{\"data\":\"x\"}");
	not_mine("{\"cmd\":\"send\"}");
	not_mine("{\"cmd\":\"send\",\"batch\":[]}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",\"batch\":[\"y\"]}");
	not_mine("{}");
	not_mine("[\"cmd\",\"send\"]");
	not_mine("");
	/* bad UTF-8: cut, overlong, a surrogate, over U+10FFFF, a stray continuation */
	not_mine("{\"cmd\":\"send\",\"data\":\"\xc3(\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\xc0\xaf\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\xed\xa0\x80\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\xf4\x90\x80\x80\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"abcdefghij\x80\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\xc3\\n\"}");
	/* escapes jansson refuses */
	not_mine("{\"cmd\":\"send\",\"data\":\"\\u0000\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\ud800\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\ud800\\u0041\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\udc00\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\x\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\u12\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"\\u12g4\"}");
	not_mine("{\"cmd\":\"send\",\"data\":\"a\tb\"}"); /* a raw control character */
	/* cut short, trailing bytes, a trailing comma */
	not_mine("{\"cmd\":\"send\",\"data\":\"abc");
	not_mine("{\"cmd\":\"send\",\"data\":\"abc\"");
	not_mine("{\"cmd\":\"send\",\"data\":\"abc\\");
	not_mine("{\"cmd\":\"send\",\"batch\":[\"abc\"");
	not_mine("{\"cmd\":\"send\",\"batch\":[\"abc\",]}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\",}");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\"} x");
	not_mine("{\"cmd\":\"send\",\"data\":\"x\"}{}");
	static const char nul_after[] = "{\"cmd\":\"send\",\"data\":\"x\"}\0";
	static const char nul_in[] = "{\"cmd\":\"send\",\"data\":\"x\0\"}";
	mine_not_n(nul_after, sizeof(nul_after) - 1);
	mine_not_n(nul_in, sizeof(nul_in) - 1);
	/* an event over a frame */
	char line[2048];
	char ev[MAX_EVENT + 2];
	memset(ev, 'a', sizeof(ev) - 1);
	ev[sizeof(ev) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"send\",\"data\":\"%s\"}", ev);
	not_mine(line);
	ev[MAX_EVENT] = '\0';
	snprintf(line, sizeof(line), "{\"cmd\":\"send\",\"data\":\"%s\"}", ev);
	same(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sendscan_plain),
		cmocka_unit_test(sendscan_batch),
		cmocka_unit_test(sendscan_escapes),
		cmocka_unit_test(sendscan_options),
		cmocka_unit_test(sendscan_whitespace),
		cmocka_unit_test(sendscan_falls_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
