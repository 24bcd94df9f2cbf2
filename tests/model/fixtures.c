/* fixtures.c - see fixtures.h. */
#define _POSIX_C_SOURCE 200809L
#include "fixtures.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/dtype.h"
#include "testutil.h"

float synth_value(int tensor, size_t i) {
    return (float)(((tensor * 7 + (int)(i % 97) * 3) % 17) - 8) / 8.0f;
}

const char *pjoin(const char *dir, const char *name) {
    static char bufs[8][4096];
    static int next = 0;
    char *b = bufs[next++ % 8];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

void rm_tmpdir(const char *dir) {
    if (!dir) return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlink(pjoin(dir, e->d_name));
        closedir(d);
    }
    rmdir(dir);
}

/* Encodes n values in dtype into out (n * size bytes). */
static void encode(const char *dtype, const float *v, size_t n, unsigned char *out) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(dtype, "F32") == 0) {
            memcpy(out + 4 * i, &v[i], 4);
        } else {
            uint16_t h;
            if (strcmp(dtype, "F16") == 0) {
                h = as_f32_to_f16(v[i]);
            } else { /* BF16: the values are exact, so truncation is exact */
                uint32_t u;
                memcpy(&u, &v[i], 4);
                h = (uint16_t)(u >> 16);
            }
            memcpy(out + 2 * i, &h, 2);
        }
    }
}

static int add_tensor(struct stw_file *st, const char *dtype, int t, const char *name, int ndim,
                      int64_t r, int64_t c) {
    int64_t shape[2] = {r, c};
    size_t n = (size_t)r * (ndim == 2 ? (size_t)c : 1);
    size_t es = strcmp(dtype, "F32") == 0 ? 4 : 2;
    float *v = malloc(n * sizeof *v);
    unsigned char *b = malloc(n * es);
    int rc = -1;
    if (v && b) {
        for (size_t i = 0; i < n; i++)
            v[i] = synth_value(t, i);
        encode(dtype, v, n, b);
        rc = stw_add(st, name, dtype, ndim, shape, b, n * es) ? 0 : -1;
    }
    free(v);
    free(b);
    return rc;
}

int synth_hf_init(struct synth_hf *s, const char *dtype, int tied) {
    memset(s, 0, sizeof *s);
    stw_init(&s->st);
    json_error_t jerr;
    s->config = json_pack_ex(
        &jerr, 0,
        "{s:[s], s:b, s:i, s:i, s:s, s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:f, s:n, s:f, s:b, "
        "s:s, s:i}",
        "architectures", "LlamaForCausalLM", "attention_bias", 0, "bos_token_id", 1, "eos_token_id",
        2, "hidden_act", "silu", "hidden_size", SYN_D, "intermediate_size", SYN_F,
        "max_position_embeddings", 64, "model_type", "llama", "num_attention_heads", SYN_H,
        "num_hidden_layers", SYN_L, "num_key_value_heads", SYN_KV, "rms_norm_eps", 1e-5,
        "rope_scaling", "rope_theta", 10000.0, "tie_word_embeddings", tied, "torch_dtype",
        "float32", "vocab_size", SYN_V);
    if (!s->config) {
        fprintf(stderr, "synth_hf_init: json_pack: %s\n", jerr.text);
        return -1;
    }
    char nm[128];
    int t = 0, rc = 0;
    rc |= add_tensor(&s->st, dtype, t++, "model.embed_tokens.weight", 2, SYN_V, SYN_D);
    for (int l = 0; l < SYN_L; l++) {
        static const struct {
            const char *suffix;
            int ndim;
            int64_t r, c;
        } per[9] = {{"input_layernorm.weight", 1, SYN_D, 0},
                    {"self_attn.q_proj.weight", 2, SYN_H * SYN_HD, SYN_D},
                    {"self_attn.k_proj.weight", 2, SYN_KV * SYN_HD, SYN_D},
                    {"self_attn.v_proj.weight", 2, SYN_KV * SYN_HD, SYN_D},
                    {"self_attn.o_proj.weight", 2, SYN_D, SYN_H * SYN_HD},
                    {"post_attention_layernorm.weight", 1, SYN_D, 0},
                    {"mlp.gate_proj.weight", 2, SYN_F, SYN_D},
                    {"mlp.up_proj.weight", 2, SYN_F, SYN_D},
                    {"mlp.down_proj.weight", 2, SYN_D, SYN_F}};
        for (int k = 0; k < 9; k++) {
            snprintf(nm, sizeof nm, "model.layers.%d.%s", l, per[k].suffix);
            rc |= add_tensor(&s->st, dtype, t++, nm, per[k].ndim, per[k].r, per[k].c);
        }
    }
    rc |= add_tensor(&s->st, dtype, t++, "model.norm.weight", 1, SYN_D, 0);
    if (!tied) rc |= add_tensor(&s->st, dtype, t++, "lm_head.weight", 2, SYN_V, SYN_D);
    return rc;
}

void synth_hf_free(struct synth_hf *s) {
    json_decref(s->config);
    stw_free(&s->st);
    memset(s, 0, sizeof *s);
}

int synth_hf_write(const struct synth_hf *s, const char *dir) {
    if (json_dump_file(s->config, pjoin(dir, "config.json"), JSON_INDENT(2)) != 0) return -1;
    if (!s->shards) return stw_write(&s->st, pjoin(dir, "model.safetensors"));

    /* two shards: embeddings + layer 0 in the first, the rest in the second */
    static const char *names[2] = {"model-00001-of-00002.safetensors",
                                   "model-00002-of-00002.safetensors"};
    int rc = 0;
    json_t *wm = json_object();
    for (int sh = 0; sh < 2; sh++) {
        struct stw_file part = s->st; /* shallow copy; only `skip` flags differ */
        part.t = malloc((size_t)s->st.n * sizeof *part.t);
        if (!part.t) return -1;
        memcpy(part.t, s->st.t, (size_t)s->st.n * sizeof *part.t);
        for (int i = 0; i < s->st.n; i++) {
            int in_first = i < 1 + 9;
            if (in_first != (sh == 0))
                part.t[i].skip = 1;
            else if (!part.t[i].skip)
                json_object_set_new(wm, part.t[i].name, json_string(names[sh]));
        }
        rc |= stw_write(&part, pjoin(dir, names[sh]));
        free(part.t);
    }
    json_t *ix = json_pack("{s:{s:i}, s:o}", "metadata", "total_size", 0, "weight_map", wm);
    rc |= json_dump_file(ix, pjoin(dir, "model.safetensors.index.json"), JSON_INDENT(2));
    json_decref(ix);
    return rc;
}

int synth_l2c_write(const char *path, int unshared, long extra_bytes,
                    const int32_t *header_or_null) {
    const int D = SYN_D, F = SYN_F, L = SYN_L, V = SYN_V, S = 8, hd = SYN_HD;
    const int kv = SYN_KV * hd;
    int32_t hdr[7] = {D, F, L, SYN_H, SYN_KV, unshared ? -V : V, S};
    if (header_or_null) memcpy(hdr, header_or_null, sizeof hdr);
    /* blocks in file order */
    size_t blocks[] = {(size_t)V * D,      (size_t)L * D,     (size_t)L * D * D, (size_t)L * kv * D,
                       (size_t)L * kv * D, (size_t)L * D * D, (size_t)L * D,     (size_t)L * F * D,
                       (size_t)L * D * F,  (size_t)L * F * D, (size_t)D,         (size_t)S * hd / 2,
                       (size_t)S * hd / 2, (size_t)V * D};
    int nb = unshared ? 14 : 13;
    size_t total = 0;
    for (int b = 0; b < nb; b++)
        total += blocks[b];
    size_t bytes = 28 + 4 * total;
    if (extra_bytes < 0 && (size_t)(-extra_bytes) > bytes) return -1;
    size_t fsize = (size_t)((long)bytes + extra_bytes);
    unsigned char *buf = calloc(1, fsize > bytes ? fsize : bytes);
    if (!buf) return -1;
    memcpy(buf, hdr, 28);
    size_t off = 28;
    for (int b = 0; b < nb; b++)
        for (size_t i = 0; i < blocks[b]; i++, off += 4) {
            float v = synth_value(b, i);
            memcpy(buf + off, &v, 4);
        }
    int rc = tu_write_file(path, buf, fsize);
    free(buf);
    return rc;
}
