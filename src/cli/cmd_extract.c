/* cmd_extract.c - `attnsweep extract`: one prompt, one process, one HDF5 file.
 * This file only reads the options and the prompt (text or ids) and checks
 * them; the prompt then runs as a one-prompt job through the sweep
 * pipeline's own planner, writer, worker and summary (as_run_one). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attnsweep/forward.h"
#include "attnsweep/h5out.h"
#include "attnsweep/model.h"
#include "attnsweep/run.h"
#include "attnsweep/tokenizer.h"
#include "attnsweep/version.h"
#include "cli.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(
        f, "usage: attnsweep extract --model PATH (--text TEXT | --ids 1,2,3) --out FILE.h5\n"
           "                         [--tokenizer PATH] [--id NAME] [--no-bos]\n"
           "                         [--store full|last_row|none] [--dtype float32|float16]\n"
           "                         [--weights probs|norms|both] [--scores] [--topk K]\n"
           "                         [--logits] [--force] [--naive] [--quiet]\n"
           "Runs one prompt through the model and writes its attention [layer, head, query, key],\n"
           "its metrics and a summary into a new HDF5 file (docs/FORMAT.md).\n"
           "  --model PATH      HF model folder (config.json + safetensors) or llama2.c .bin\n"
           "  --tokenizer PATH  tokenizer.json / tokenizer.bin / .gguf (default: the HF folder's)\n"
           "  --text TEXT       prompt text ('-' reads standard input byte for byte)\n"
           "  --ids LIST        comma-separated token ids instead of text (used as given)\n"
           "  --id NAME         prompt id, 'name' or 'group/variant' (default: prompt)\n"
           "  --no-bos          do not prepend BOS to --text (default: tokenizer_config.json)\n"
           "  --store MODE      full [L,H,T,T] (default) | last_row [L,H,T] | none\n"
           "  --dtype TYPE      float32 (default) | float16\n"
           "  --weights W       probs (default) | norms (value norms instead: store none) | both\n"
           "  --scores          also store the pre-softmax scores (layout of --store)\n"
           "  --topk K          size of /behaviour's next-token top-k (default min(10, vocab))\n"
           "  --logits          also store the last position's logits (/behaviour/logits)\n"
           "  --force           overwrite FILE.h5 if it exists (never done otherwise)\n"
           "  --naive           use the naive reference kernels instead of OpenBLAS\n");
}

struct extract_opts {
    const char *model, *tokenizer, *text, *ids, *id, *out;
    int no_bos, force, naive, quiet, scores, topk, logits, store_given;
    enum as_store_weights weights;
    enum as_store store;
    enum as_out_dtype dtype;
};

static int parse(int argc, char **argv, struct extract_opts *o) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"tokenizer", required_argument, 0, 't'},
        {"text", required_argument, 0, 'x'},    {"ids", required_argument, 0, 'i'},
        {"id", required_argument, 0, 'n'},      {"out", required_argument, 0, 'o'},
        {"no-bos", no_argument, 0, 'B'},        {"force", no_argument, 0, 'f'},
        {"naive", no_argument, 0, 'N'},         {"quiet", no_argument, 0, 'q'},
        {"store", required_argument, 0, 's'},   {"dtype", required_argument, 0, 'd'},
        {"weights", required_argument, 0, 'w'}, {"scores", no_argument, 0, 'S'},
        {"topk", required_argument, 0, 'k'},    {"logits", no_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->id = "prompt";
    int c, v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 't': o->tokenizer = optarg; break;
        case 'x': o->text = optarg; break;
        case 'i': o->ids = optarg; break;
        case 'n': o->id = optarg; break;
        case 'o': o->out = optarg; break;
        case 'B': o->no_bos = 1; break;
        case 'f': o->force = 1; break;
        case 'N': o->naive = 1; break;
        case 'q': o->quiet = 1; break;
        case 's':
            if ((v = as_store_from_name(optarg)) < 0) {
                fprintf(stderr,
                        "attnsweep extract: --store expects full, last_row or none, got '%s'\n",
                        optarg);
                return -1;
            }
            o->store = (enum as_store)v, o->store_given = 1;
            break;
        case 'w':
            if ((v = as_weights_from_name(optarg)) < 0) {
                fprintf(stderr,
                        "attnsweep extract: --weights expects probs, norms or both, got '%s'\n",
                        optarg);
                return -1;
            }
            o->weights = (enum as_store_weights)v;
            break;
        case 'S': o->scores = 1; break;
        case 'L': o->logits = 1; break;
        case 'k': {
            char *end;
            errno = 0;
            long k = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || k < 1 || k > AS_SWEEP_TOPK_MAX) {
                fprintf(stderr,
                        "attnsweep extract: --topk expects an integer in [1, %d], got '%s'\n",
                        AS_SWEEP_TOPK_MAX, optarg);
                return -1;
            }
            o->topk = (int)k;
            break;
        }
        case 'd':
            if ((v = as_out_dtype_from_name(optarg)) < 0) {
                fprintf(stderr, "attnsweep extract: --dtype expects float32 or float16, got '%s'\n",
                        optarg);
                return -1;
            }
            o->dtype = (enum as_out_dtype)v;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "attnsweep extract: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->model || !o->out || (!o->text == !o->ids)) {
        fprintf(stderr, "attnsweep extract: --model, --out and exactly one of --text / --ids are "
                        "required\n");
        usage(stderr);
        return -1;
    }
    if (o->weights == AS_WEIGHTS_NORMS) { /* value norms instead of the probabilities */
        if (o->store_given && o->store != AS_STORE_NONE) {
            fprintf(stderr,
                    "attnsweep extract: --weights norms stores value norms instead of the "
                    "attention probabilities, but --store is %s; expected --store none or no "
                    "--store (HINT: --weights both stores both)\n",
                    as_store_name(o->store));
            return -1;
        }
        o->store = AS_STORE_NONE;
    }
    if (o->scores && o->store == AS_STORE_NONE) {
        fprintf(stderr, "attnsweep extract: --scores needs stored attention (the scores have its "
                        "layout), but --store is none or --weights is norms; expected --store "
                        "full or last_row\n");
        return -1;
    }
    return 0;
}

/* Finds the tokenizer: --tokenizer, else the model folder (tokenizer.json). */
static as_status load_tokenizer(const struct extract_opts *o, struct as_tokenizer *tok, int *have,
                                struct as_err *err) {
    *have = 0;
    const char *path = o->tokenizer;
    if (!path && as_dir_exists(o->model)) path = o->model;
    if (!path) {
        if (o->text)
            return as_err_set(err, AS_ERR_INVALID,
                              "--text needs a tokenizer, and %s is not an HF folder. HINT: pass "
                              "--tokenizer PATH (e.g. the llama2.c tokenizer.bin)",
                              o->model);
        return AS_OK; /* --ids without a tokenizer: token strings stay empty */
    }
    as_status st = as_tokenizer_load(tok, path, err);
    if (st == AS_OK)
        *have = 1;
    else if (!o->text && !o->tokenizer) { /* --ids and no tokenizer in the folder: fine */
        as_err_clear(err);
        return AS_OK;
    }
    return st;
}

int as_cmd_extract(int argc, char **argv) {
    struct extract_opts o;
    int pr = parse(argc, argv, &o);
    if (pr != 0) return pr > 0 ? AS_EXIT_OK : AS_EXIT_USAGE;

    int rc = AS_EXIT_FAIL, mpi_inited = 0, have_tok = 0, created = 0;
    struct as_err err = {0};
    struct as_model m;
    struct as_tokenizer tok;
    struct as_encoding enc;
    memset(&m, 0, sizeof m), memset(&tok, 0, sizeof tok), memset(&enc, 0, sizeof enc);
    char *text = NULL, *cmdline = as_cli_join_argv(argc, argv, "attnsweep");
    int32_t *ids = NULL;
    int T = 0;
    double t0 = as_cli_now();

    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "attnsweep extract: error: MPI_Init failed\n");
        goto done;
    }
    mpi_inited = 1;
    int world;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world != 1) {
        fprintf(stderr,
                "attnsweep extract: error: extract is a single-process command but was "
                "started on %d ranks. HINT: run it without mpirun, or use 'attnsweep run' "
                "for sweeps\n",
                world);
        goto done;
    }
    if (as_h5_id_validate(o.id, &err) != AS_OK) goto fail;
    if (!o.force && access(o.out, F_OK) == 0) {
        as_err_set(&err, AS_ERR_EXISTS,
                   "%s already exists; refusing to overwrite it. HINT: pass --force to replace "
                   "it, or choose another --out",
                   o.out);
        goto fail;
    }
    if (as_model_open(&m, o.model, &err) != AS_OK) goto fail; /* the config: checks below */
    if (load_tokenizer(&o, &tok, &have_tok, &err) != AS_OK) goto fail;
    if (o.topk > m.cfg.vocab_size) {
        as_err_set(&err, AS_ERR_INVALID,
                   "--topk is %d, but the vocabulary of %s has %d tokens; expected 1 <= K <= %d",
                   o.topk, o.model, m.cfg.vocab_size, m.cfg.vocab_size);
        goto fail;
    }
    if (have_tok && tok.n_vocab > m.cfg.vocab_size) {
        as_err_set(&err, AS_ERR_INVALID,
                   "tokenizer %s has %d pieces but model %s has vocab_size %d. HINT: pass the "
                   "model's own tokenizer with --tokenizer",
                   tok.path, tok.n_vocab, o.model, m.cfg.vocab_size);
        goto fail;
    }

    if (o.text) {
        size_t len;
        if (strcmp(o.text, "-") == 0) {
            if (as_cli_read_stream(stdin, &text, &len, &err) != AS_OK) goto fail;
        } else {
            len = strlen(o.text);
            text = strdup(o.text);
        }
        int add_bos = o.no_bos ? 0 : as_tokenizer_add_bos_default(&tok);
        if (as_tokenizer_encode(&tok, text, len, add_bos, &enc, &err) != AS_OK) goto fail;
        T = enc.n;
        ids = malloc(sizeof(int32_t) * (T ? T : 1));
        if (T) memcpy(ids, enc.ids, sizeof(int32_t) * T);
    } else {
        if (as_cli_parse_ids(o.ids, &ids, &T, &err) != AS_OK) goto fail;
        text = strdup("");
    }
    if (T < 1) {
        as_err_set(&err, AS_ERR_INVALID,
                   "the prompt has no tokens. HINT: give a non-empty --text, "
                   "or do not pass --no-bos");
        goto fail;
    }
    if (T > m.cfg.max_position) {
        as_err_set(&err, AS_ERR_INVALID,
                   "the prompt has %d tokens, more than the model's max_position_embeddings %d", T,
                   m.cfg.max_position);
        goto fail;
    }
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= m.cfg.vocab_size) {
            as_err_set(&err, AS_ERR_INVALID,
                       "token %d (position %d) is outside the model's "
                       "vocabulary [0, %d)",
                       ids[t], t, m.cfg.vocab_size);
            goto fail;
        }

    /* token strings: from the encoding, or looked up for --ids */
    const char **tokstr = NULL;
    if (have_tok) {
        tokstr = malloc(sizeof(char *) * T);
        for (int t = 0; t < T; t++)
            tokstr[t] = o.text ? enc.tokens[t] : as_tokenizer_token_str(&tok, ids[t]);
    }
    if (!o.quiet) {
        printf("attnsweep extract: model %s (%d layers, %d heads, %d kv heads, %s)\n", o.model,
               m.cfg.n_layers, m.cfg.n_heads, m.cfg.n_kv_heads,
               m.cfg.rope == AS_ROPE_HALF ? "rotate_half RoPE" : "interleaved RoPE");
        printf("attnsweep extract: prompt '%s': %d tokens\n", o.id, T);
    }

    struct as_run_prompt rp = {0};
    rp.id = o.id;
    rp.text = text;
    rp.text_len = o.text ? strlen(text) : 0;
    rp.n_tokens = T;
    rp.ids = ids;
    rp.offsets = o.text ? enc.offsets : NULL; /* --ids: no text, every token [0, 0) */
    rp.tokens = tokstr;
    rp.model_path = o.model;
    rp.output_path = o.out;
    rp.store = o.store;
    rp.dtype = o.dtype;
    rp.weights = o.weights, rp.scores = o.scores, rp.topk = o.topk, rp.logits = o.logits;
    rp.tokenizer = have_tok ? &tok : NULL; /* /behaviour's decoded next-token strings */
    struct as_run_opts ro = {0};
    ro.force = o.force;
    ro.quiet = 1; /* extract prints its own one line */
    ro.kernel = o.naive ? AS_KERNEL_NAIVE : AS_KERNEL_BLAS;
    ro.command_line = cmdline;
    ro.progress_interval = 1e9;
    struct as_run_result res;
    as_model_free(&m); /* the pipeline loads the weights itself */
    const int existed = access(o.out, F_OK) == 0;
    as_status st = as_run_one(MPI_COMM_WORLD, &ro, &rp, &res, &err);
    free(tokstr);
    created = !existed && access(o.out, F_OK) == 0;
    if (st != AS_OK) goto fail;
    if (res.n_done != 1) {
        as_err_set(&err, AS_ERR_INTERNAL,
                   "the prompt failed (its message is in %s, /sweep/message). HINT: rerun with "
                   "--force",
                   o.out);
        goto fail;
    }
    if (!o.quiet)
        printf("attnsweep extract: wrote %s (prompt '%s', attention %s %s%s%s%s, metrics, "
               "summary) in %.2f s\n",
               o.out, o.id, as_store_name(o.store), as_out_dtype_name(o.dtype),
               o.weights != AS_WEIGHTS_PROBS ? ", value norms" : "", o.scores ? ", scores" : "",
               o.logits ? ", logits" : "", as_cli_now() - t0);
    rc = AS_EXIT_OK;
    goto done;
fail:
    as_cli_error("extract", &err);
    if (created) {
        /* the file is ours and incomplete: do not leave a half-written result behind */
        if (remove(o.out) == 0)
            fprintf(stderr, "attnsweep extract: removed the incomplete %s\n", o.out);
    }
done:
    as_encoding_free(&enc);
    if (have_tok) as_tokenizer_free(&tok);
    as_model_free(&m);
    free(ids);
    free(text);
    free(cmdline);
    if (mpi_inited) as_h5_shutdown(), MPI_Finalize();
    return rc;
}
