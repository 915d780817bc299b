/* cp_sendreq: a send request's options and events, read from jansson's object. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cp_sendreq.h"
#include "rumor_msg.h"

void cp_sendreq_opts_json(const json_t *req, struct cp_sendreq_opts *o)
{
	const json_t *tag = json_object_get(req, "tag"), *rid = json_object_get(req, "request_id");

	*o = (struct cp_sendreq_opts){ .wait = json_is_true(json_object_get(req, "wait")),
				       .ids = !json_is_false(json_object_get(req, "ids")),
				       .has_tag = json_is_integer(tag),
				       .tag = json_integer_value(tag),
				       .reqid_bad = rid && !json_is_string(rid),
				       .reqid = json_string_value(rid),
				       .ack = json_string_value(json_object_get(req, "ack")) };
}

int cp_sendreq_pack(const json_t *req, size_t max_event, unsigned mtu, uint8_t *buf,
		    size_t cap, size_t *len, uint16_t *count, char *err, size_t errlen)
{
	json_t *batch = json_object_get(req, "batch"), *v;
	json_t *one = batch ? NULL : json_array();
	size_t off = 0, i;
	int rc = 0;

	if (one) /* a single "data" is a batch of one */
		json_array_append(one, json_object_get(req, "data"));
	*count = 0;
	json_array_foreach(batch ? batch : one, i, v) {
		size_t n = json_string_length(v);
		if (!json_is_string(v)) {
			snprintf(err, errlen, "send: data must be a string");
			rc = -EINVAL;
			break;
		}
		if (n > max_event) {
			snprintf(err, errlen, "send: event of %zu bytes is over the %zu bytes one "
				 "frame carries at MTU %u", n, max_event, mtu);
			rc = -EINVAL;
			break;
		}
		if (n + 2 > cap) {
			/* one dataplane message carries a request (RUMOR_MSG_ORIGINATE_DATA): with
			 * jumbo frames an event may fit a frame and not a message */
			snprintf(err, errlen, "send: event of %zu bytes is over the %zu bytes one "
				 "dataplane message holds", n, cap - 2);
			rc = -EINVAL;
			break;
		}
		if (rumor_msg_originate_put(buf, cap, &off, json_string_value(v), (uint16_t)n) < 0) {
			snprintf(err, errlen, "send: batch over %zu bytes: split it", cap);
			rc = -EINVAL;
			break;
		}
		(*count)++;
	}
	json_decref(one);
	if (rc == 0 && !*count) {
		snprintf(err, errlen, "send: nothing to send (give \"data\" or \"batch\")");
		rc = -EINVAL;
	}
	*len = off;
	return rc;
}
