/* dtype.h - element types of stored weights and their conversion to fp32.
 * Conversions are exact: F16 and BF16 values are representable in fp32
 * (subnormals, infinities and NaNs included). Inputs may be unaligned. */
#ifndef ATTNSWEEP_DTYPE_H
#define ATTNSWEEP_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum as_dtype { AS_DTYPE_F32 = 0, AS_DTYPE_F16 = 1, AS_DTYPE_BF16 = 2, AS_DTYPE_INVALID = -1 };

/* "F32" / "F16" / "BF16" (safetensors spelling) -> enum; AS_DTYPE_INVALID otherwise. */
enum as_dtype as_dtype_from_name(const char *name);
const char *as_dtype_name(enum as_dtype t);
size_t as_dtype_size(enum as_dtype t);

float as_f16_to_f32(uint16_t h);
uint16_t as_f32_to_f16(float f); /* round to nearest even */
float as_bf16_to_f32(uint16_t b);

/* Converts n elements of type t at src (any alignment) into dst. */
void as_dtype_to_f32(enum as_dtype t, const void *src, size_t n, float *dst);

#ifdef __cplusplus
}
#endif
#endif
