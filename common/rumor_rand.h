/* rumor_rand: the one small PRNG step every module uses (SplitMix64): seeded state in, a
 * well-mixed 64-bit value out. Not for keys or anything an attacker must not predict. */
#ifndef RUMOR_RAND_H
#define RUMOR_RAND_H

#include <stdint.h>

/* Advance *@s and return the next value of its sequence. */
static inline uint64_t rumor_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
