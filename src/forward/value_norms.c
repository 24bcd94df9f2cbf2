/* value_norms.c - ||f_h(x_j)|| = ||W_O^h v_j|| (Kobayashi et al. 2020), per
 * layer, head and key (docs/METRICS.md, "Value norms").
 *
 * With W_h = wo[:, h*hd:(h+1)*hd] (D, hd) and G_h = W_h^T W_h (hd, hd),
 * ||W_h v||^2 = v^T G_h v: hd^2 operations per key and head instead of D*hd,
 * and no second pass over o_proj's weights in a decode step. G is built once
 * per model (as_vnorm_init). The naive reference forms W_h v in double. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/forward.h"
#include "kernels.h"

size_t as_vnorm_bytes(const struct as_config *c) {
    return (size_t)c->n_layers * c->n_heads * c->head_dim * c->head_dim * sizeof(float);
}

as_status as_vnorm_init(struct as_vnorm *vn, const struct as_model *m, struct as_err *err) {
    const struct as_config *c = &m->cfg;
    const int D = c->dim, H = c->n_heads, hd = c->head_dim, qd = H * hd;
    memset(vn, 0, sizeof *vn);
    vn->gram = malloc(as_vnorm_bytes(c));
    if (!vn->gram)
        return as_err_set(err, AS_ERR_NOMEM,
                          "value norms: cannot allocate %.1f MiB for the o_proj Gram matrices",
                          as_vnorm_bytes(c) / 1048576.0);
    vn->n_layers = c->n_layers;
    vn->n_heads = H;
    vn->head_dim = hd;
    for (int l = 0; l < c->n_layers; l++) {
        const float *wo = m->w.layers[l].wo; /* (D, H*hd) */
        for (int h = 0; h < H; h++) {
            /* G_h (hd, hd) = W_h^T W_h, W_h = the (D, hd) column block h of wo (ld H*hd) */
            float *G = vn->gram + ((size_t)l * H + h) * hd * hd;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hd, hd, D, 1.0f,
                        wo + (size_t)h * hd, qd, wo + (size_t)h * hd, qd, 0.0f, G, hd);
        }
    }
    return AS_OK;
}

void as_vnorm_free(struct as_vnorm *vn) {
    free(vn->gram);
    memset(vn, 0, sizeof *vn);
}

void as_value_norms(float *norms, int ldn, const float *v, int ldv, int n, const float *gram,
                    int n_heads, int n_kv_heads, int head_dim, float *scratch) {
    const int group = n_heads / n_kv_heads, hd = head_dim, gw = group * hd;
    for (int g = 0; g < n_kv_heads; g++) {
        /* scratch (n, group*hd): row j = [G_h v_j for the group's heads h]; the G_h of a group's
         * heads are consecutive (hd, hd) blocks of gram, so they form one (group*hd, hd) matrix */
        const float *vg = v + (size_t)g * hd;
        as_linear_rows(scratch, gw, vg, ldv, gram + (size_t)g * group * hd * hd, hd, n, hd, gw, 0);
        for (int j = 0; j < n; j++) {
            const float *vj = vg + (size_t)j * ldv, *y = scratch + (size_t)j * gw;
            for (int hh = 0; hh < group; hh++) {
                double s = 0.0;
                for (int a = 0; a < hd; a++)
                    s += (double)vj[a] * y[hh * hd + a];
                norms[(size_t)(g * group + hh) * ldn + j] = (float)sqrt(s > 0.0 ? s : 0.0);
            }
        }
    }
}

void as_value_norms_naive(float *norms, int ldn, const float *v, int ldv, int n, const float *wo,
                          int dim, int n_heads, int n_kv_heads, int head_dim) {
    const int group = n_heads / n_kv_heads, hd = head_dim, qd = n_heads * hd;
    for (int h = 0; h < n_heads; h++) {
        const int g = h / group;
        for (int j = 0; j < n; j++) {
            const float *vj = v + (size_t)j * ldv + (size_t)g * hd;
            double ss = 0.0;
            for (int o = 0; o < dim; o++) {
                const float *wrow = wo + (size_t)o * qd + (size_t)h * hd;
                double f = 0.0;
                for (int a = 0; a < hd; a++)
                    f += (double)wrow[a] * vj[a];
                ss += f * f;
            }
            norms[(size_t)h * ldn + j] = (float)sqrt(ss);
        }
    }
}
