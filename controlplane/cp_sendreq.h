/* cp_sendreq: the events of a `send` API request ({"data": "..."} or {"batch": [...]}) packed
 * the way the dataplane's ORIGINATE takes them: u16 little-endian length + bytes each.
 * Pure (jansson only): rumor-cp's command and its fuzz target run this same code. */
#ifndef CP_SENDREQ_H
#define CP_SENDREQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What cmd_send reads of a request besides its events (the jansson path and cp_sendscan's
 * scanner fill the same struct; cp_cmd checks it). */
struct cp_sendreq_opts {
	bool wait;            /* "wait": true */
	bool ids;             /* unless "ids": false */
	bool has_tag;         /* "tag" is an integer */
	int64_t tag;          /* its value (0 without) */
	bool reqid_bad;       /* "request_id" is there and not a string */
	const char *reqid;    /* "request_id"'s string, or NULL */
	const char *ack;      /* "ack"'s string, or NULL (absent or not a string) */
};

/* @req's options (its strings stay @req's). */
void cp_sendreq_opts_json(const json_t *req, struct cp_sendreq_opts *o);

/* Pack @req's events into @buf (@cap bytes): *@len bytes, *@count events. An event over
 * @max_event bytes (what one frame carries at @mtu), a non-string, a batch over @cap or no
 * event at all is refused with -EINVAL and the reason in @err. Returns 0 or -EINVAL. */
int cp_sendreq_pack(const json_t *req, size_t max_event, unsigned mtu, uint8_t *buf,
		    size_t cap, size_t *len, uint16_t *count, char *err, size_t errlen);

#endif
