/* libFuzzer target: the API socket's request path up to dispatch, without a node. Bytes are
 * split into lines and parsed with json_loadb exactly as cp_api.c handle_lines does; send's
 * batch packing runs cp_cmd.c's own code (cp_sendreq), the other commands' field reads are
 * mirrored here (events' range, change's node id): keep those in step with cp_cmd.c.
 * Differential: every line cp_sendscan takes (cp_cmd_line, before jansson) must be a send
 * object to json_loadb whose options and packed events jansson's path gives identically. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_sendreq.h"
#include "cp_sendscan.h"
#include "rumor_msg.h"
#include "rumor_vc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cmd_send's packing, the same function rumor-cp runs: what it packs must walk back to the
 * length and count it reports. */
static void send_fields(json_t *req)
{
	uint8_t buf[RUMOR_MSG_ORIGINATE_DATA];
	char err[160];
	size_t len, off = 0;
	uint16_t count, seen = 0, n;
	const uint8_t *ev;
	int rc;

	if (cp_sendreq_pack(req, 1400, 1500, buf, sizeof(buf), &len, &count, err,
			    sizeof(err)) < 0) {
		if (strnlen(err, sizeof(err)) == sizeof(err))
			abort();
		return;
	}
	while ((rc = rumor_msg_originate_next(buf, len, &off, &ev, &n)) == 1) {
		if (n > 1400)
			abort();
		seen++;
	}
	if (rc != 0 || off != len || seen != count || len > sizeof(buf))
		abort();
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

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The scanner against jansson's path, with the limits rumor-cp has at MTU 1500 (1400 here
 * as in send_fields) and with a small message (the size checks at its edge). */
static void scan_vs_jansson(const char *line, size_t n, size_t cap)
{
	static uint8_t sbuf[RUMOR_MSG_ORIGINATE_DATA], jbuf[RUMOR_MSG_ORIGINATE_DATA];
	struct cp_sendscan s;
	struct cp_sendreq_opts o;
	char err[160];
	size_t len;
	uint16_t count;

	if (!cp_sendscan(line, n, 1400, sbuf, cap, &s))
		return;
	json_t *req = json_loadb(line, n, 0, NULL);
	if (!req || !json_is_object(req))
		abort();
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd || strcmp(cmd, "send"))
		abort();
	cp_sendreq_opts_json(req, &o);
	if (cp_sendreq_pack(req, 1400, 1500, jbuf, cap, &len, &count, err, sizeof(err)) < 0)
		abort();
	if (s.opt.wait != o.wait || s.opt.ids != o.ids || s.opt.has_tag != o.has_tag ||
	    s.opt.tag != o.tag || s.opt.reqid_bad != o.reqid_bad || !streq(s.opt.reqid, o.reqid) ||
	    !streq(s.opt.ack, o.ack) || s.count != count || s.len != len ||
	    memcmp(sbuf, jbuf, len))
		abort();
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *start = (const char *)data, *end = start + size, *nl;

	while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
		json_error_t jerr;
		scan_vs_jansson(start, (size_t)(nl - start), RUMOR_MSG_ORIGINATE_DATA);
		scan_vs_jansson(start, (size_t)(nl - start), 24);
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
