/* test_plan.c - the planner: cost model, round robin, explicit, balanced
 * (LPT) determinism and quality, rank-count independence, length checks. */
#include "sweep_test.h"

#include "attnsweep/plan.h"
#include "attnsweep/synthetic.h"

static struct as_config tiny(void) {
    struct as_config c;
    as_config_tinyllama(&c);
    return c;
}

static void test_cost_model(void) {
    struct as_config c = tiny();
    int64_t T = 10, D = 2048, H = 32, Hkv = 4, hd = 64, F = 5632;
    int64_t layer = 2 * T * D * (H * hd + 2 * Hkv * hd) + 2 * T * H * hd * D + 6 * T * D * F +
                    4 * H * T * T * hd;
    TU_CHECK(as_plan_prompt_flops(&c, 10) == 22 * layer, "flops %lld vs %lld",
             (long long)as_plan_prompt_flops(&c, 10), (long long)(22 * layer));
    TU_CHECK(as_plan_prompt_flops(&c, 2000000000) == -1, "overflow not detected");

    /* output bytes: full f32, last_row f16 with subsets, none */
    int Ts[2] = {10, 20};
    struct as_plan p;
    struct as_err err;
    struct as_plan_request rq = {.n_prompts = 2,
                                 .n_tokens = Ts,
                                 .cfg = &c,
                                 .n_ranks = 1,
                                 .assign = AS_ASSIGN_ROUND_ROBIN,
                                 .store = 0,
                                 .dtype = 0};
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.out_bytes[0] == 22.0 * 32 * 100 * 4 + 120, "full f32 bytes %.0f", p.out_bytes[0]);
    TU_CHECK(p.total_tokens == 30 && p.ranks[0].n_tokens == 30, "tokens");
    as_plan_free(&p);
    rq.store = 1;
    rq.dtype = 1;
    rq.n_out_layers = 2;
    rq.n_out_heads = 3;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.out_bytes[1] == 2.0 * 3 * 20 * 2 + 240, "last_row f16 bytes %.0f", p.out_bytes[1]);
    as_plan_free(&p);
    rq.store = 2;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.out_bytes[0] == 120 && p.total_out_bytes == 360, "none bytes %.0f", p.out_bytes[0]);
    as_plan_free(&p);
}

static void test_round_robin_and_errors(void) {
    struct as_config c = tiny();
    int Ts[10] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    struct as_plan p;
    struct as_err err;
    struct as_plan_request rq = {
        .n_prompts = 10, .n_tokens = Ts, .cfg = &c, .n_ranks = 3, .assign = AS_ASSIGN_ROUND_ROBIN};
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    for (int i = 0; i < 10; i++)
        TU_CHECK(p.rank[i] == i % 3, "rank[%d] = %d", i, p.rank[i]);
    TU_CHECK(p.rank_start[0] == 0 && p.rank_start[1] == 4 && p.rank_start[2] == 7 &&
                 p.rank_start[3] == 10,
             "rank_start");
    TU_CHECK(p.by_rank[0] == 0 && p.by_rank[1] == 3 && p.by_rank[4] == 1 && p.by_rank[9] == 8,
             "by_rank");
    as_plan_free(&p);

    rq.n_ranks = 0;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_ERR_INVALID, "0 ranks accepted");
    rq.n_ranks = 2;
    Ts[3] = 0;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_ERR_INVALID && strstr(err.msg, "prompt 3 has 0"),
             "%s", err.msg);
    Ts[3] = 8;
    int ex[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 2};
    rq.assign = AS_ASSIGN_EXPLICIT;
    rq.explicit_rank = ex;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_ERR_INVALID && strstr(err.msg, "rank 2"), "%s",
             err.msg);
    ex[9] = 1;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    for (int i = 0; i < 10; i++)
        TU_CHECK(p.rank[i] == ex[i], "explicit rank[%d]", i);
    as_plan_free(&p);
}

static double makespan(const struct as_plan *p) {
    double m = 0;
    for (int r = 0; r < p->n_ranks; r++)
        if (p->ranks[r].flops > m) m = p->ranks[r].flops;
    return m;
}

/* The optimal makespan by exhaustive search (n small). */
static double brute_force(const double *cost, int n, int R) {
    double best = 1e300;
    int64_t total = 1;
    for (int i = 0; i < n; i++)
        total *= R;
    for (int64_t code = 0; code < total; code++) {
        double load[8] = {0};
        int64_t x = code;
        for (int i = 0; i < n; i++) {
            load[x % R] += cost[i];
            x /= R;
        }
        double m = 0;
        for (int r = 0; r < R; r++)
            if (load[r] > m) m = load[r];
        if (m < best) best = m;
    }
    return best;
}

static void test_balanced(void) {
    struct as_config c = tiny();
    struct as_plan p, q;
    struct as_err err;

    /* equal prompts: ties go to the lower index and the lower rank */
    int eq[6] = {16, 16, 16, 16, 16, 16};
    struct as_plan_request rq = {
        .n_prompts = 6, .n_tokens = eq, .cfg = &c, .n_ranks = 3, .assign = AS_ASSIGN_BALANCED};
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        TU_CHECK(p.rank[i] == i % 3, "tie rank[%d] = %d", i, p.rank[i]);
    TU_CHECK(p.imbalance == 1.0, "imbalance %f", p.imbalance);
    as_plan_free(&p);

    /* a perfect partition exists and LPT finds it: {big, small} x 2 */
    int pair[4] = {100, 300, 300, 100};
    rq.n_prompts = 4;
    rq.n_tokens = pair;
    rq.n_ranks = 2;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.rank[1] == 0 && p.rank[2] == 1 && p.rank[3] == 1 && p.rank[0] == 0,
             "pair ranks %d %d %d %d", p.rank[0], p.rank[1], p.rank[2], p.rank[3]);
    TU_CHECK(p.imbalance == 1.0, "imbalance %f", p.imbalance);
    as_plan_free(&p);

    /* one long prompt and many short ones: the long one gets a rank to itself */
    int skew[9] = {40, 40, 40, 40, 2000, 40, 40, 40, 40};
    rq.n_prompts = 9;
    rq.n_tokens = skew;
    rq.n_ranks = 3;
    TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.rank[4] == 0 && p.ranks[0].n_prompts == 1, "long prompt rank %d with %lld prompts",
             p.rank[4], (long long)p.ranks[0].n_prompts);
    as_plan_free(&p);

    /* within 4/3 of optimal (exhaustive search), and deterministic */
    uint64_t seed = 12345;
    for (int trial = 0; trial < 20; trial++) {
        int Ts[9];
        double cost[9];
        for (int i = 0; i < 9; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            Ts[i] = 1 + (int)((seed >> 33) % 1500);
            cost[i] = (double)as_plan_prompt_flops(&c, Ts[i]);
        }
        rq.n_tokens = Ts;
        TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
        TU_CHECK(as_plan_build(&q, &rq, &err) == AS_OK, "%s", err.msg);
        TU_CHECK(!memcmp(p.rank, q.rank, 9 * sizeof *p.rank), "trial %d not deterministic", trial);
        double opt = brute_force(cost, 9, 3), got = makespan(&p);
        TU_CHECK(got <= opt * (4.0 / 3.0) + 1, "trial %d: LPT %.4g > 4/3 of optimal %.4g", trial,
                 got, opt);
        TU_CHECK(got >= opt, "trial %d: below optimal?", trial);
        as_plan_free(&p);
        as_plan_free(&q);
    }
}

/* Whatever the rank count, every prompt is planned exactly once. */
static void test_rank_count_independence(void) {
    struct as_config c = tiny();
    enum { N = 101 };
    int Ts[N];
    for (int i = 0; i < N; i++)
        Ts[i] = 1 + (i * 37) % 300;
    struct as_err err;
    for (int a = 0; a < 2; a++) {
        for (int R = 1; R <= 7; R++) {
            struct as_plan p;
            struct as_plan_request rq = {.n_prompts = N,
                                         .n_tokens = Ts,
                                         .cfg = &c,
                                         .n_ranks = R,
                                         .assign = a ? AS_ASSIGN_BALANCED : AS_ASSIGN_ROUND_ROBIN};
            TU_CHECK(as_plan_build(&p, &rq, &err) == AS_OK, "%s", err.msg);
            int seen[N] = {0};
            int64_t tokens = 0, count = 0;
            double flops = 0;
            for (int r = 0; r < R; r++) {
                for (int64_t k = p.rank_start[r]; k < p.rank_start[r + 1]; k++) {
                    int64_t i = p.by_rank[k];
                    TU_CHECK(p.rank[i] == r, "by_rank lists %lld under rank %d", (long long)i, r);
                    if (k > p.rank_start[r]) TU_CHECK(p.by_rank[k - 1] < i, "not ascending");
                    seen[i]++;
                }
                tokens += p.ranks[r].n_tokens;
                count += p.ranks[r].n_prompts;
                flops += p.ranks[r].flops;
            }
            int once = 1;
            for (int i = 0; i < N; i++)
                once &= seen[i] == 1;
            TU_CHECK(once, "R=%d: some prompt not planned exactly once", R);
            TU_CHECK(count == N && tokens == p.total_tokens, "R=%d totals", R);
            TU_CHECK(flops == p.total_flops || (flops - p.total_flops) / p.total_flops < 1e-12,
                     "R=%d flops", R);
            if (R == 3 && a) {
                as_plan_print(&p, NULL, stdout);
                TU_CHECK(p.imbalance < 1.05, "LPT imbalance %.3f on 101 prompts", p.imbalance);
            }
            as_plan_free(&p);
        }
    }
}

static void test_from_sweep(void) {
    struct as_sweep s;
    struct as_err err;
    struct as_config c = tiny();
    const char *y = "output: {store: last_row, dtype: float16, layers: [0, 21], heads: [0, 1, 2]}\n"
                    "ranks:\n  assign: explicit\n  explicit: {1: [g/a, h], 0: [g/b]}\n"
                    "groups:\n  - name: g\n    prompts: {a: x, b: y}\n"
                    "  - name: h\n    prompts: {c: z}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    int Ts[3] = {5, 6, 7};
    struct as_plan p;
    TU_CHECK(as_plan_build_sweep(&p, &s, Ts, &c, 2, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(p.rank[0] == 1 && p.rank[1] == 0 && p.rank[2] == 1, "explicit plan");
    TU_CHECK(p.out_bytes[2] == 2.0 * 3 * 7 * 2 + 84, "subset bytes %.0f", p.out_bytes[2]);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    as_plan_print(&p, &s, fp);
    fclose(fp);
    printf("%s", text);
    TU_CHECK(strstr(text, "explicit") && strstr(text, "total") && strstr(text, "imbalance") &&
                 strstr(text, "t.yaml"),
             "print:\n%s", text);
    free(text);
    as_plan_free(&p);
    TU_CHECK(as_plan_build_sweep(&p, &s, Ts, &c, 1, &err) == AS_ERR_INVALID &&
                 strstr(err.msg, "to rank 1"),
             "%s", err.msg);
    as_sweep_free(&s);
}

static void test_lengths(void) {
    struct as_sweep s;
    struct as_err err;
    const char *y =
        "groups:\n"
        "  - name: short\n"
        "    prompts: {a: x}\n"
        "  - name: long\n"
        "    template: \"{i}\"\n"
        "    product: {i: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    int Ts[26];
    for (int i = 0; i < 26; i++)
        Ts[i] = i == 0 ? 10 : 3000 + i;
    TU_CHECK(as_plan_check_lengths(&s, Ts, 4096, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_plan_check_lengths(&s, Ts, 2048, &err) == AS_ERR_INVALID, "too long accepted");
    printf("%s\n", err.msg);
    TU_CHECK(strstr(err.msg, "25 prompts are outside 1..2048 tokens") &&
                 strstr(err.msg, "long/0000: 3001 tokens (t.yaml:5:15)") &&
                 strstr(err.msg, "long/0019: 3020 tokens") && !strstr(err.msg, "long/0020") &&
                 strstr(err.msg, "... and 5 more") && !strstr(err.msg, "short/a"),
             "%s", err.msg);
    Ts[5] = 0;
    for (int i = 6; i < 26; i++)
        Ts[i] = 5;
    Ts[1] = Ts[2] = Ts[3] = Ts[4] = 5;
    TU_CHECK(as_plan_check_lengths(&s, Ts, 2048, &err) == AS_ERR_INVALID &&
                 strstr(err.msg, "1 prompt is outside") && strstr(err.msg, "long/0004: 0 tokens"),
             "%s", err.msg);
    as_sweep_free(&s);
}

int main(void) {
    st_setup("plan");
    test_cost_model();
    test_round_robin_and_errors();
    test_balanced();
    test_rank_count_independence();
    test_from_sweep();
    test_lengths();
    st_teardown();
    return tu_finish("test_plan");
}
