/* cp_keys: the replicated gossip keyring in rumor-cp (issue 14): `keys_*` API commands
 * proposed as keyring entries (cp_batch.h struct cp_keyop), and each applied keyring handed
 * to the dataplane (RUMOR_MSG_KEYRING). The rules are cp_fsm.h's. */
#ifndef CP_KEYS_H
#define CP_KEYS_H

#include <jansson.h>
#include <stdint.h>

struct cp_node;
struct cp_api_client;

/* Once at start, after the fsm exists: hooks the fsm's keyring callback and closes the
 * data dir to others (0700: the Raft log and snapshots hold the keys). */
void cp_keys_start(struct cp_node *n);
/* Every ~100 ms: hands the keyring again to a dataplane whose stats show another
 * generation (restarted, or a full ring lost the message), at most once a second. */
void cp_keys_tick(struct cp_node *n, uint64_t now_ms);
/* {"cmd":"keys_list"}, {"cmd":"keys_install","id":N,"key":"<64 hex>"|"generate":true},
 * {"cmd":"keys_use","id":N}, {"cmd":"keys_remove","id":N} (admin commands, leader for all
 * but list). The reply of a change comes once this node applied its entry. */
void cp_keys_cmd(struct cp_node *n, struct cp_api_client *c, const char *cmd, json_t *req);
void cp_keys_client_closed(struct cp_node *n, struct cp_api_client *c);

/* Short fingerprint of a key (8 hex digits + NUL): never the key itself. */
void cp_keys_fingerprint(const uint8_t key[32], char out[9]);

#endif
