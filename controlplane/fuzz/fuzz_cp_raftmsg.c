/* libFuzzer target: cp_raftmsg_decode (Raft messages from peers, the first bytes a remote
 * node controls). Accepted messages must re-encode byte for byte, then be freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_raftio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raft_message m;
	struct raft_buffer out = { NULL, 0 };
	int rc = cp_raftmsg_decode(data, size, &m);

	if (rc < 0) {
		/* the transport drops a bad message without freeing it, so nothing may be left
		 * allocated here (LeakSanitizer checks at exit) */
		return 0;
	}
	if (cp_raftmsg_encode(&m, &out))
		abort();
	if (out.len != size || memcmp(out.base, data, size))
		abort();
	raft_free(out.base);
	cp_raftmsg_free(&m);
	return 0;
}
