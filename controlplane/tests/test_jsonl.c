/* cp_jsonl: every line it writes parses back (jansson) to the same values, UTF-8 validation
 * agrees with jansson's on random and edge-case bytes, escaping covers every control byte. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cp_jsonl.h"

static json_t *parse(const struct cp_jsonl *b)
{
	json_error_t e;
	json_t *j = json_loadb(b->p, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j)
		fail_msg("unparsable line '%.*s': %s", (int)b->len, b->p, e.text);
	return j;
}

static void event_round_trip(void **state)
{
	struct cp_jsonl b = { 0 };
	const char text[] = "set k \"v\"\\\n\t\x01 caf\xc3\xa9";
	json_t *j;

	(void)state;
	cp_jsonl_event(&b, 9223372036854775807ull, 1023, 42, "00ff", "clock", "{1:3, 2:7}",
		       false, text, sizeof(text) - 1);
	j = parse(&b);
	assert_true(json_integer_value(json_object_get(j, "gseq")) == INT64_MAX);
	assert_int_equal(json_integer_value(json_object_get(j, "origin")), 1023);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "00ff");
	assert_string_equal(json_string_value(json_object_get(j, "clock")), "{1:3, 2:7}");
	assert_int_equal(json_string_length(json_object_get(j, "data")), sizeof(text) - 1);
	assert_memory_equal(json_string_value(json_object_get(j, "data")), text, sizeof(text) - 1);
	json_decref(j);

	/* not UTF-8: hex, and no clock key when none is asked for */
	cp_jsonl_reset(&b);
	cp_jsonl_event(&b, 1, 2, 3, "ab", NULL, "", false, "\xff\x00\x10", 3);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "data")), "hex:ff0010");
	assert_null(json_object_get(j, "clock"));
	json_decref(j);

	cp_jsonl_reset(&b);
	cp_jsonl_event(&b, 5, 2, 9, "ab", "clock", "", true, NULL, 0);
	j = parse(&b);
	assert_true(json_is_true(json_object_get(j, "skip")));
	assert_null(json_object_get(j, "data"));
	json_decref(j);
	cp_jsonl_free(&b);
}

static void every_byte_escaped(void **state)
{
	struct cp_jsonl b = { 0 };
	char all[128];

	(void)state;
	for (int i = 0; i < 128; i++)
		all[i] = (char)i;
	cp_jsonl_str(&b, all, sizeof(all));
	json_t *j = parse(&b);
	assert_int_equal(json_string_length(j), 128);
	assert_memory_equal(json_string_value(j), all, 128);
	json_decref(j);
	cp_jsonl_free(&b);
}

/* jansson refuses a string that is not UTF-8: both must agree on every input. */
static int jansson_utf8(const uint8_t *p, size_t n)
{
	json_t *s = json_stringn((const char *)p, n);
	json_decref(s);
	return s != NULL;
}

static void utf8_agrees_with_jansson(void **state)
{
	static const char *edge[] = {
		"\xc0\x80", "\xc2\x80", "\xe0\x80\x80", "\xe0\xa0\x80", "\xed\xa0\x80", "\xed\x9f\xbf",
		"\xf0\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf8\x88\x80\x80\x80", "\x80", "\xc3", "\xe2\x82", "a\xe2\x82\xac", "\xef\xbf\xbf",
	};
	uint8_t buf[8];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		const uint8_t *p = (const uint8_t *)edge[i];
		size_t n = strlen(edge[i]);
		if (cp_jsonl_utf8_valid(p, n) != jansson_utf8(p, n))
			fail_msg("edge case %zu disagrees", i);
	}
	for (int r = 0; r < 200000; r++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t n = 1 + (x >> 60) % 8;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(x >> (8 * i)) | ((x >> 59) & 1 ? 0x80 : 0);
		if (cp_jsonl_utf8_valid(buf, n) != jansson_utf8(buf, n))
			fail_msg("random input %d disagrees", r);
	}
}

/* Longer inputs, where the eight-byte steps run: ASCII runs with quotes, backslashes and
 * control bytes at every offset, and UTF-8 sequences (some broken) between them. Validation
 * agrees with jansson, and every valid one parses back from cp_jsonl_str to the same bytes. */
static void long_strings_round_trip(void **state)
{
	static const char *piece[] = {
		"abcdefgh", "0123", "\"", "\\", "\n", "\x01", "\x1f", " ", "~", "\x7f",
		"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80", "\x80",
	};
	struct cp_jsonl b = { 0 };
	char buf[96];
	uint64_t x = 0x2545f4914f6cdd1dull;
	int valid = 0;

	(void)state;
	for (int r = 0; r < 100000; r++) {
		size_t n = 0;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned parts = 1 + (unsigned)(x % 16);
		for (unsigned k = 0; k < parts; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly plain ASCII, as payloads are */
			const char *pc = piece[(x >> 8) % 4 ? (x >> 16) % 2 : (x >> 16) % 16];
			size_t len = strlen(pc);
			if (n + len > sizeof(buf))
				break;
			memcpy(buf + n, pc, len);
			n += len;
		}
		int ok = cp_jsonl_utf8_valid((const uint8_t *)buf, n);
		if (ok != jansson_utf8((const uint8_t *)buf, n))
			fail_msg("input %d (%zu bytes) disagrees", r, n);
		if (!ok)
			continue;
		valid++;
		cp_jsonl_reset(&b);
		cp_jsonl_str(&b, buf, n);
		json_t *j = parse(&b);
		if (json_string_length(j) != n || memcmp(json_string_value(j), buf, n) != 0)
			fail_msg("input %d (%zu bytes) did not round-trip", r, n);
		json_decref(j);
	}
	assert_true(valid > 10000); /* both outcomes were exercised */
	cp_jsonl_free(&b);
}

static void skip_ranges(void **state)
{
	struct cp_jsonl b = { 0 };
	json_t *j;

	(void)state;
	cp_jsonl_skip(&b, 5, 2, 9, 4096);
	j = parse(&b);
	assert_int_equal(json_integer_value(json_object_get(j, "gseq")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 9);
	assert_true(json_is_true(json_object_get(j, "skip")));
	assert_int_equal(json_integer_value(json_object_get(j, "skip_through")), 4096);
	json_decref(j);
	cp_jsonl_reset(&b);
	cp_jsonl_skip(&b, 6, 2, 9, 9); /* one seq: the old line, no range key */
	j = parse(&b);
	assert_null(json_object_get(j, "skip_through"));
	assert_true(json_is_true(json_object_get(j, "skip")));
	json_decref(j);
	cp_jsonl_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_round_trip),
		cmocka_unit_test(long_strings_round_trip),
		cmocka_unit_test(skip_ranges),
		cmocka_unit_test(every_byte_escaped),
		cmocka_unit_test(utf8_agrees_with_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
