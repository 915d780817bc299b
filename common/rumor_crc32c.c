/* rumor_crc32c: CRC32C with a runtime choice between the SSE4.2 instruction and a
 * byte-wise table (reflected polynomial 0x82F63B78). */
#include "rumor_crc32c.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_mode; /* 0 = not yet chosen, 1 = table, 2 = sse4.2 */

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_mode = __builtin_cpu_supports("sse4.2") ? 2 : 1;
#else
    crc_mode = 1;
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t len)
{
    while (len--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p,
                                                         size_t len)
{
    uint64_t c64 = c;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        len -= 8;
    }
    c = (uint32_t)c64;
    while (len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t rumor_crc32c(uint32_t crc, const void *p, size_t len)
{
    if (crc_mode == 0)
        crc_init();
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (crc_mode == 2)
        return ~crc_hw(c, p, len);
#endif
    return ~crc_sw(c, p, len);
}
