/* fixtures.h - tiny synthetic models for the loader tests.
 *
 * synth_hf_*: an HF directory (config.json + model.safetensors, or two shards
 * with an index) of a 2-layer GQA Llama: hidden 8, 2 heads, 1 kv head
 * (head_dim 4), intermediate 12, vocab 16. Element i of the t-th tensor in
 * canonical order has the value synth_value(t, i), a multiple of 1/8 in
 * [-1, 1], exactly representable in F32, F16 and BF16, so a test can check
 * every loaded float. Tests mutate the config (jansson object) or the tensor
 * list before writing, to produce exactly one defect. */
#ifndef ATTNSWEEP_TEST_FIXTURES_H
#define ATTNSWEEP_TEST_FIXTURES_H

#include <jansson.h>

#include "attnsweep/model.h"
#include "st_writer.h"

#define SYN_L  2
#define SYN_D  8
#define SYN_H  2
#define SYN_KV 1
#define SYN_HD 4
#define SYN_F  12
#define SYN_V  16

float synth_value(int tensor, size_t i);

struct synth_hf {
    json_t *config;     /* config.json content */
    struct stw_file st; /* tensors in canonical order (lm_head last) */
    int shards;         /* 0: model.safetensors; 2: two shards + index.json */
};

/* dtype: "F32", "F16" or "BF16"; tied: leave out lm_head.weight. Returns 0 on success. */
int synth_hf_init(struct synth_hf *s, const char *dtype, int tied);
void synth_hf_free(struct synth_hf *s);
/* Writes the directory contents into dir (which exists); returns 0 on success. */
int synth_hf_write(const struct synth_hf *s, const char *dir);

/* llama2.c legacy .bin of the same shapes (seq_len 8); values synth_value(t, i) over
 * the stacked tensors in file order. unshared: negative vocab and a wcls block.
 * extra_bytes (may be negative) changes the file size. Returns 0 on success. */
int synth_l2c_write(const char *path, int unshared, long extra_bytes,
                    const int32_t *header_or_null);

/* Removes the regular files in dir, then dir itself (tests' temp directories). */
void rm_tmpdir(const char *dir);
/* dir/name into a static buffer (one of 8 rotating). */
const char *pjoin(const char *dir, const char *name);

#endif
