/* cp_appmsg: the small APP messages' codecs (DURABLE, SEQ_REPLY); layouts in cp_appmsg.h. */
#include <errno.h>

#include "cp_appmsg.h"
#include "rumor_be.h"

void cp_appmsg_durable_encode(uint8_t out[CP_APPMSG_DURABLE_LEN], uint16_t origin,
			      uint64_t through, uint64_t floor)
{
	rumor_be_st16(out, origin);
	rumor_be_st64(out + 2, through);
	rumor_be_st64(out + 10, floor);
}

int cp_appmsg_durable_decode(const uint8_t *p, size_t len, uint16_t *origin, uint64_t *through,
			     uint64_t *floor)
{
	if (len != CP_APPMSG_DURABLE_LEN)
		return -EINVAL;
	*origin = rumor_be_ld16(p);
	*through = rumor_be_ld64(p + 2);
	*floor = rumor_be_ld64(p + 10);
	return 0;
}

void cp_appmsg_seq_reply_encode(uint8_t out[CP_APPMSG_SEQ_REPLY_LEN], uint64_t seen)
{
	rumor_be_st64(out, seen);
}

int cp_appmsg_seq_reply_decode(const uint8_t *p, size_t len, uint64_t *seen)
{
	if (len != CP_APPMSG_SEQ_REPLY_LEN)
		return -EINVAL;
	*seen = rumor_be_ld64(p);
	return 0;
}
