/* dtype.c - exact F16/BF16 -> fp32 conversion, and fp32 -> F16 for output. */
#include "attnsweep/dtype.h"

#include <string.h>

enum as_dtype as_dtype_from_name(const char *name) {
    if (!name) return AS_DTYPE_INVALID;
    if (strcmp(name, "F32") == 0) return AS_DTYPE_F32;
    if (strcmp(name, "F16") == 0) return AS_DTYPE_F16;
    if (strcmp(name, "BF16") == 0) return AS_DTYPE_BF16;
    return AS_DTYPE_INVALID;
}

const char *as_dtype_name(enum as_dtype t) {
    switch (t) {
    case AS_DTYPE_F32: return "F32";
    case AS_DTYPE_F16: return "F16";
    case AS_DTYPE_BF16: return "BF16";
    default: return "invalid";
    }
}

size_t as_dtype_size(enum as_dtype t) {
    switch (t) {
    case AS_DTYPE_F32: return 4;
    case AS_DTYPE_F16:
    case AS_DTYPE_BF16: return 2;
    default: return 0;
    }
}

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float as_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return bits_to_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (man << 13));
    return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t as_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow -> inf */
    if (absx < 0x38800000u) {                                   /* subnormal or zero in f16 */
        if (absx < 0x33000000u) return (uint16_t)sign;          /* rounds to zero */
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e; /* 14..24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((absx >> 13) - (112u << 10));
    uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

float as_bf16_to_f32(uint16_t b) {
    return bits_to_f32((uint32_t)b << 16);
}

void as_dtype_to_f32(enum as_dtype t, const void *src, size_t n, float *dst) {
    const unsigned char *s = src;
    switch (t) {
    case AS_DTYPE_F32: memcpy(dst, src, n * 4); break;
    case AS_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = as_f16_to_f32(h);
        }
        break;
    case AS_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = as_bf16_to_f32(h);
        }
        break;
    default: break;
    }
}
