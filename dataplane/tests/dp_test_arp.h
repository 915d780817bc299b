/* An Ethernet + ARP frame built by hand for the ARP tests (test_dp_arp, test_dp_link),
 * independent of dp_arp's own encoder so the two cannot share a mistake. Pure C. */
#ifndef DP_TEST_ARP_H
#define DP_TEST_ARP_H

#include <stdint.h>
#include <string.h>

#include "dp_arp.h"
#include "rumor_be.h"

/* Broadcast from @sha: op, sender (@sha, @sip), target (@tha or zeros, @tip), padded with
 * zeros to DP_ARP_FRAME_LEN. */
static inline void dp_test_arp_frame(uint8_t b[DP_ARP_FRAME_LEN], uint16_t op,
				     const uint8_t *sha, uint32_t sip, const uint8_t *tha,
				     uint32_t tip)
{
	memset(b, 0, DP_ARP_FRAME_LEN);
	memset(b, 0xff, 6);
	memcpy(b + 6, sha, 6);
	rumor_be_st16(b + 12, 0x0806);
	rumor_be_st16(b + 14, 1);
	rumor_be_st16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	rumor_be_st16(b + 20, op);
	memcpy(b + 22, sha, 6);
	rumor_be_st32(b + 28, sip);
	if (tha)
		memcpy(b + 32, tha, 6);
	rumor_be_st32(b + 38, tip);
}

#endif
