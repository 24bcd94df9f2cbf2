/* behaviour_opts.c - the output keys of /behaviour (docs/SWEEP.md "Output"):
 * output.topk (k of the next-token top-k) and output.logits (store the last
 * position's logits). Checked against the model later (as_sweep_check_model). */
#include <stdio.h>

#include "sweep_internal.h"

as_status sw_parse_behaviour(struct sw_ctx *c, int32_t output) {
    struct as_sweep *s = c->s;
    int32_t v = sw_map_get(c->t, output, "topk");
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        long long k;
        as_status ret = sw_get_int(c->t, v, "output.topk", 1, AS_SWEEP_TOPK_MAX, &k);
        if (ret != AS_OK) return ret;
        s->topk = (int)k;
        s->topk_mark.line = c->t->nodes[v].line, s->topk_mark.col = c->t->nodes[v].col;
    }
    v = sw_map_get(c->t, output, "logits");
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        int64_t b;
        if (sw_scalar_type(&c->t->nodes[v], &b, NULL) != SW_S_BOOL)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.logits is '%.60s'; expected true or false (true stores the "
                           "last position's logits, [prompt, vocab] float32)",
                           c->t->nodes[v].kind == SW_SCALAR ? c->t->nodes[v].str : "not a scalar");
        s->logits = b != 0;
        s->logits_mark.line = c->t->nodes[v].line, s->logits_mark.col = c->t->nodes[v].col;
    }
    return AS_OK;
}
