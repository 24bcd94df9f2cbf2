/* topk.c - the next-token choice from last-position logits: greedy argmax and
 * the top-k with probabilities. Ties go to the lowest id everywhere, as
 * torch.argmax / torch.topk on CPU take the first maximum. */
#include <math.h>

#include "attnsweep/decode.h"

int32_t as_argmax(const float *logits, int n) {
    if (n < 1) return -1;
    int32_t best = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(logits[i])) return -1;
        if (logits[i] > logits[best]) best = i;
    }
    return best;
}

/* a ranks above b: larger logit, or equal logit and lower id */
static int above(const float *lg, int32_t a, int32_t b) {
    return lg[a] > lg[b] || (lg[a] == lg[b] && a < b);
}

as_status as_topk(const float *logits, int n, int k, int32_t *ids, float *probs,
                  struct as_err *err) {
    if (n < 1 || k < 1 || k > n)
        return as_err_set(err, AS_ERR_INVALID, "top-k: k = %d must be in [1, %d] (vocabulary)", k,
                          n);
    for (int i = 0; i < n; i++)
        if (isnan(logits[i]) || (isinf(logits[i]) && logits[i] > 0))
            return as_err_set(err, AS_ERR_INVALID,
                              "top-k: logit of token %d is %s (expected a finite number)", i,
                              isnan(logits[i]) ? "NaN" : "+Inf");
    /* ids[0..m) sorted by rank; insertion from the back: O(n k) at worst, O(n) typically */
    int m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (m == k && !above(logits, i, ids[k - 1])) continue;
        int p = m < k ? m++ : k - 1;
        while (p > 0 && above(logits, i, ids[p - 1])) {
            ids[p] = ids[p - 1];
            p--;
        }
        ids[p] = i;
    }
    /* softmax in double over the whole vocabulary, maximum subtracted */
    const double mx = logits[ids[0]];
    if (isinf(mx))
        return as_err_set(err, AS_ERR_INVALID,
                          "top-k: every logit is -Inf (expected a finite one)");
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)logits[i] - mx);
    for (int r = 0; r < k; r++)
        probs[r] = (float)(exp((double)logits[ids[r]] - mx) / sum);
    return AS_OK;
}
