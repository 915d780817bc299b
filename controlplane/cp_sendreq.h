/* cp_sendreq: the events of a `send` API request ({"data": "..."} or {"batch": [...]}) packed
 * the way the dataplane's ORIGINATE takes them: u16 little-endian length + bytes each.
 * Pure (jansson only): rumor-cp's command and its fuzz target run this same code. */
#ifndef CP_SENDREQ_H
#define CP_SENDREQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Pack @req's events into @buf (@cap bytes): *@len bytes, *@count events. An event over
 * @max_event bytes (what one frame carries at @mtu), a non-string, a batch over @cap or no
 * event at all is refused with -EINVAL and the reason in @err. Returns 0 or -EINVAL. */
int cp_sendreq_pack(const json_t *req, size_t max_event, unsigned mtu, uint8_t *buf,
		    size_t cap, size_t *len, uint16_t *count, char *err, size_t errlen);

#endif
