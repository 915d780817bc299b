/* cp_jsonl: JSON lines for the per-event hot paths (ordered.log, the ordered and gossip
 * streams) written straight into a growable buffer, without building jansson objects: the
 * applied path formats every event once, at hundreds of thousands per second.
 * Payloads that are valid UTF-8 become JSON strings; others "hex:" + hex (as before). */
#ifndef CP_JSONL_H
#define CP_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_jsonl {
	char *p;
	size_t len, cap;
	bool oom;          /* an append failed: the content is incomplete */
};

void cp_jsonl_free(struct cp_jsonl *b);
static inline void cp_jsonl_reset(struct cp_jsonl *b)
{
	b->len = 0;
	b->oom = false;
}

void cp_jsonl_raw(struct cp_jsonl *b, const char *s, size_t n);
void cp_jsonl_u64(struct cp_jsonl *b, uint64_t v);
/* A JSON string of @n bytes of valid UTF-8, quoted and escaped. */
void cp_jsonl_str(struct cp_jsonl *b, const char *s, size_t n);
/* A payload: its UTF-8 text as a JSON string, or "hex:..." when it is not UTF-8. */
void cp_jsonl_payload(struct cp_jsonl *b, const void *p, size_t n);

/* 1 when @p holds well-formed UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
int cp_jsonl_utf8_valid(const uint8_t *p, size_t n);

/* One event object: {"gseq":G,"origin":O,"seq":S,"id":"..","<clock_key>":"..","data":".."}
 * or, for a skip, {"gseq":G,"origin":O,"seq":S,"skip":true}. @clock "" leaves the clock out
 * when @clock_key is optional (NULL key: never written). */
void cp_jsonl_event(struct cp_jsonl *b, uint64_t gseq, uint16_t origin, uint64_t seq,
		    const char *id_hex, const char *clock_key, const char *clock, bool skip,
		    const void *payload, size_t len);

/* One skip record: {"gseq":G,"origin":O,"seq":S,"skip":true,"skip_through":T}, the
 * origin's seqs S..T given up on under one gseq; without skip_through when T == S (the line
 * a one-seq skip always had). */
void cp_jsonl_skip(struct cp_jsonl *b, uint64_t gseq, uint16_t origin, uint64_t seq,
		   uint64_t seq_last);

#endif
