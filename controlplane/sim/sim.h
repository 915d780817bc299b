/* sim: the whole-node deterministic simulator (see sim.c). What its simulated disk
 * (sim_plog.c) needs from the driver. */
#ifndef CP_SIM_H
#define CP_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct sim;
struct cp_plog;
struct cp_plog_cfg;

uint64_t sim_now_ms(const struct sim *s);
unsigned sim_disk_latency_ms(struct sim *s, unsigned node);
bool sim_disk_fails(struct sim *s, unsigned node);
void sim_disk_schedule(struct sim *s, unsigned node, uint64_t due_ms);

int sim_plog_open(struct sim *s, unsigned node, const struct cp_plog_cfg *cfg,
		  struct cp_plog **out);
void sim_plog_rebind(struct cp_plog *pl, const struct cp_plog_cfg *cfg);
void sim_plog_free(struct cp_plog *pl);
void sim_plog_crash(struct cp_plog *pl);
void sim_plog_rot(struct cp_plog *pl, uint64_t pick);
void sim_plog_complete(struct cp_plog *pl, uint64_t now_ms);
bool sim_plog_readable(const struct cp_plog *pl, uint16_t origin, uint64_t seq);
bool sim_plog_persisted(const struct cp_plog *pl, uint16_t origin, uint64_t seq);
size_t sim_plog_count(const struct cp_plog *pl);
bool sim_plog_record(const struct cp_plog *pl, size_t i, uint16_t *origin, uint64_t *first_seq,
		     uint16_t *count);

#endif
