/* cp_le: the byte order of every controlplane/io format (Raft log, snapshots, payload log,
 * transport frames, Raft messages): little endian, loaded and stored through memcpy so that
 * unaligned buffers stay legal (gcc folds each to one move). One place, not one per file. */
#ifndef CP_LE_H
#define CP_LE_H

#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "controlplane/io formats are little endian: add byte swaps for this host"
#endif

static inline void cp_le_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void cp_le_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void cp_le_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t cp_le_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t cp_le_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t cp_le_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

#endif
