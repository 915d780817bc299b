/* libFuzzer target: the API socket's request path up to dispatch, without a node. Bytes are
 * split into lines and parsed with json_loadb exactly as cp_api.c handle_lines does, then the
 * fields cp_cmd.c reads are extracted with the same jansson calls and the same arithmetic
 * (send's batch packing, events' range, change's node id). This mirrors cp_cmd.c: keep the
 * two in step when a command's field handling changes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumor_msg.h"
#include "rumor_vc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cmd_send: pack "data" or "batch" strings as u16 length + bytes. */
static void send_fields(json_t *req)
{
	uint8_t buf[RUMOR_MSG_ORIGINATE_DATA];
	size_t off = 0, i;
	json_t *data = json_object_get(req, "data"), *batch = json_object_get(req, "batch"), *v;

	(void)json_is_true(json_object_get(req, "wait"));
	if (!batch) {
		batch = json_array();
		json_array_append(batch, data);
	} else {
		json_incref(batch);
	}
	json_array_foreach(batch, i, v) {
		size_t len = json_string_length(v);
		if (!json_is_string(v) || len > 1400 || off + 2 + len > sizeof(buf))
			break;
		buf[off] = (uint8_t)len;
		buf[off + 1] = (uint8_t)(len >> 8);
		memcpy(buf + off + 2, json_string_value(v), len);
		off += 2 + len;
	}
	json_decref(batch);
}

/* cmd_events with an applied gseq of 1000: the range loop must stay bounded. */
static void events_fields(json_t *req)
{
	json_int_t from = json_integer_value(json_object_get(req, "from"));
	json_int_t count = json_integer_value(json_object_get(req, "count"));
	uint64_t last = 1000, n = 0;

	if (count <= 0 || count > 10000)
		count = 20;
	if (from <= 0)
		from = last > (uint64_t)count ? (json_int_t)(last - (uint64_t)count + 1) : 1;
	for (uint64_t g = (uint64_t)from; g <= last && g < (uint64_t)(from + count); g++)
		n++;
	if (n > 10000)
		abort();
}

static void request(json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd)
		return;
	if (!strcmp(cmd, "send")) {
		send_fields(req);
	} else if (!strcmp(cmd, "events")) {
		events_fields(req);
	} else if (!strcmp(cmd, "kv")) {
		const char *key = json_string_value(json_object_get(req, "key"));
		if (key && strlen(key) > json_string_length(json_object_get(req, "key")))
			abort();
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "remove") || !strcmp(cmd, "transfer")) {
		(void)json_integer_value(json_object_get(req, "id"));
		(void)json_is_false(json_object_get(req, "voter"));
	} else if (!strcmp(cmd, "watch")) {
		(void)json_is_true(json_object_get(req, "gossip"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *start = (const char *)data, *end = start + size, *nl;

	while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
		json_error_t jerr;
		json_t *req = json_loadb(start, (size_t)(nl - start), 0, &jerr);
		start = nl + 1;
		if (!req || !json_is_object(req)) {
			/* cp_api_error formats jerr.text into the reply: it must be a C string */
			if (!req && strnlen(jerr.text, sizeof(jerr.text)) == sizeof(jerr.text))
				abort();
			json_decref(req);
			continue;
		}
		request(req);
		json_decref(req);
	}
	return 0;
}
