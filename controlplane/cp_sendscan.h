/* cp_sendscan: the API's `send` request lines read without jansson. At the maximum load every
 * client line is a send ({"cmd":"send", "ack":.., "ids":.., "tag":.., "request_id":..,
 * "batch":[..]} or "data"), and parsing them into jansson objects was a sixth of rumor-cp's
 * samples (plus the allocations). The scanner takes a conservative subset: the keys cmd_send
 * reads, each once, with the value types cmd_send acts on; strings with any JSON escape
 * (\u0000 and lone surrogates excepted) and valid UTF-8. Anything else, and every request
 * that cmd_send would refuse for its events, is "not mine": cp_api's jansson path then runs
 * as before, so error messages and edge semantics stay jansson's. Pure (no jansson); its
 * fuzz target checks it against json_loadb + cp_sendreq_opts_json + cp_sendreq_pack. */
#ifndef CP_SENDSCAN_H
#define CP_SENDSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "cp_reqids.h"
#include "cp_sendreq.h"

struct cp_sendscan {
	struct cp_sendreq_opts opt;   /* opt.reqid and opt.ack point into the buffers below */
	char reqid[CP_REQID_MAX + 1];
	char ack[16];
	size_t len;                   /* packed bytes in the caller's buffer */
	uint16_t count;               /* events */
};

/* Read the request line @line (@n bytes, no newline). 1: it is a send request taken whole:
 * @s holds its options and @buf (@cap bytes) its events packed as cp_sendreq_pack packs
 * them with @max_event, byte for byte what the jansson path gives. 0: not mine (@s and @buf
 * hold garbage). */
int cp_sendscan(const char *line, size_t n, size_t max_event, uint8_t *buf, size_t cap,
		struct cp_sendscan *s);

#endif
