/* rowcap.c - see rowcap.h. */
#include "rowcap.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int rowcap_init(struct rowcap *c, int n_seq, int L, int H, int T) {
    c->n_seq = n_seq, c->L = L, c->H = H, c->T = T;
    size_t maps = (size_t)n_seq * L * H * T * T;
    c->probs = calloc(maps, sizeof(float));
    c->scores = calloc(maps, sizeof(float));
    c->vnorm = calloc((size_t)n_seq * L * H * T, sizeof(float));
    c->seen = calloc((size_t)n_seq * L * T, sizeof(int));
    return c->probs && c->scores && c->vnorm && c->seen ? 0 : -1;
}

void rowcap_free(struct rowcap *c) {
    free(c->probs), free(c->scores), free(c->vnorm), free(c->seen);
    memset(c, 0, sizeof *c);
}

float *rowcap_probs(const struct rowcap *c, int seq, int layer) {
    return c->probs + ((size_t)seq * c->L + layer) * c->H * c->T * c->T;
}
float *rowcap_scores(const struct rowcap *c, int seq, int layer) {
    return c->scores + ((size_t)seq * c->L + layer) * c->H * c->T * c->T;
}
float *rowcap_vnorm(const struct rowcap *c, int seq, int layer) {
    return c->vnorm + ((size_t)seq * c->L + layer) * c->H * c->T;
}

static as_status check_block(const struct rowcap *c, int seq, int layer, int first, int n_rows,
                             int n_keys, struct as_err *err) {
    if (seq < 0 || seq >= c->n_seq || layer < 0 || layer >= c->L || first < 0 || n_rows < 1 ||
        first + n_rows > c->T || n_keys < first + n_rows || n_keys > c->T)
        return as_err_set(err, AS_ERR_INTERNAL,
                          "rowcap: unexpected block seq %d layer %d rows [%d, %d) keys %d", seq,
                          layer, first, first + n_rows, n_keys);
    return AS_OK;
}

static void put(float *map, int H, int T, int first, int n_rows, int n_keys, const float *block) {
    for (int h = 0; h < H; h++)
        for (int r = 0; r < n_rows; r++)
            memcpy(map + ((size_t)h * T + first + r) * T, block + ((size_t)h * n_rows + r) * n_keys,
                   (size_t)n_keys * sizeof(float));
}

static as_status probs_fn(void *ctx, int seq, int layer, int first, int n_rows, int n_keys,
                          const float *block, struct as_err *err) {
    struct rowcap *c = ctx;
    as_status st = check_block(c, seq, layer, first, n_rows, n_keys, err);
    if (st != AS_OK) return st;
    put(rowcap_probs(c, seq, layer), c->H, c->T, first, n_rows, n_keys, block);
    for (int r = 0; r < n_rows; r++)
        c->seen[((size_t)seq * c->L + layer) * c->T + first + r]++;
    return AS_OK;
}

static as_status scores_fn(void *ctx, int seq, int layer, int first, int n_rows, int n_keys,
                           const float *block, struct as_err *err) {
    struct rowcap *c = ctx;
    as_status st = check_block(c, seq, layer, first, n_rows, n_keys, err);
    if (st != AS_OK) return st;
    put(rowcap_scores(c, seq, layer), c->H, c->T, first, n_rows, n_keys, block);
    return AS_OK;
}

static as_status vnorm_fn(void *ctx, int seq, int layer, int first, int n_keys, const float *norms,
                          struct as_err *err) {
    struct rowcap *c = ctx;
    as_status st = check_block(c, seq, layer, first, n_keys, first + n_keys, err);
    if (st != AS_OK) return st;
    float *dst = rowcap_vnorm(c, seq, layer);
    for (int h = 0; h < c->H; h++)
        memcpy(dst + (size_t)h * c->T + first, norms + (size_t)h * n_keys,
               (size_t)n_keys * sizeof(float));
    return AS_OK;
}

struct as_capture rowcap_capture(struct rowcap *c, const struct as_vnorm *vn) {
    struct as_capture cap = {{probs_fn, c}, {scores_fn, c}, {vnorm_fn, c}, vn};
    return cap;
}

void rowcap_check_complete(const struct rowcap *c, int seq, int n, const char *what) {
    int bad = 0;
    for (int l = 0; l < c->L; l++)
        for (int i = 0; i < c->T; i++) {
            int want = i < n ? 1 : 0, got = c->seen[((size_t)seq * c->L + l) * c->T + i];
            if (got != want && bad++ < 3)
                TU_CHECK(got == want, "%s: layer %d row %d arrived %d times (want %d)", what, l, i,
                         got, want);
        }
    TU_CHECK(bad == 0, "%s: %d rows arrived a wrong number of times", what, bad);
}
