/* libFuzzer target: cp_fsm_snapshot_load (Raft snapshots installed from the leader).
 * A rejected snapshot must leave the state alone; an accepted one must save to bytes that
 * load and save again to the same bytes (the input itself need not be canonical: watermark
 * order is free and a smaller log window drops old entries). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Payloads never arrive: loaded queues stay queued, nothing is applied. */
static int no_payload(void *d, uint16_t o, uint64_t s, const struct rumor_event_id *id,
		      const void **p, size_t *len)
{
	(void)d; (void)o; (void)s; (void)id; (void)p; (void)len;
	return -EAGAIN;
}

static void no_want(void *d, uint16_t o, uint64_t s, const struct rumor_event_id *id)
{
	(void)d; (void)o; (void)s; (void)id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cp_fsm *f;
	void *a = NULL, *b = NULL;
	size_t alen, blen;

	if (!f) {
		struct cp_fsm_config cfg;
		struct cp_payload_provider pp = { .get = no_payload, .want = no_want };
		cp_fsm_config_default(&cfg);
		cfg.log_window = 8; /* small, so that window truncation is exercised */
		if (cp_fsm_create(&cfg, &pp, &f))
			abort();
	}
	uint64_t g0 = cp_fsm_last_gseq(f), d0 = cp_fsm_digest(f), q0 = cp_fsm_queue_len(f);
	int rc = cp_fsm_snapshot_load(f, data, size);
	if (rc < 0) {
		if (cp_fsm_last_gseq(f) != g0 || cp_fsm_digest(f) != d0 ||
		    cp_fsm_queue_len(f) != q0)
			abort();
		return 0;
	}
	if (cp_fsm_snapshot_save(f, &a, &alen))
		abort();
	if (cp_fsm_snapshot_load(f, a, alen))
		abort();
	if (cp_fsm_snapshot_save(f, &b, &blen))
		abort();
	if (alen != blen || memcmp(a, b, alen))
		abort();
	free(a);
	free(b);
	return 0;
}
