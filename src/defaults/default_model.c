/* default_model.c - the built-in default model (see attnsweep/defaults.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attnsweep/defaults.h"
#include "attnsweep/fileio.h"
#include "attnsweep/synthetic.h"

void as_default_config(struct as_config *c) {
    as_config_tinyllama(c); /* same architecture and conventions, tiny sizes */
    c->n_layers = 4;
    c->n_heads = 8;
    c->n_kv_heads = 2;
    c->head_dim = 8;
    c->dim = 64;
    c->hidden_dim = 172;
    c->vocab_size = AS_DEFAULT_TOKENIZER_VOCAB;
    c->max_position = 512;
    snprintf(c->architecture, sizeof c->architecture, "LlamaForCausalLM");
}

as_status as_default_model_write(const char *dir, const struct as_config *cfg, uint64_t seed,
                                 int dtype, int force, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_model m;
    memset(&m, 0, sizeof m);
    static const char *files[] = {"config.json", "model.safetensors", "tokenizer.json",
                                  "tokenizer_config.json"};
    char path[4096];
    /* mkdir -p */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return as_err_set(err, AS_ERR_INVALID, "%s: path too long", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return as_err_set(err, AS_ERR_IO, "%s: cannot create directory: %s", tmp,
                                  strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    if (!force)
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            AS_TRY(as_path_join(path, sizeof path, dir, files[i], err));
            if (as_file_exists(path))
                return as_err_set(err, AS_ERR_EXISTS,
                                  "%s already exists; refusing to overwrite it. HINT: pass "
                                  "--force, or choose another --out directory",
                                  path);
        }
    struct as_config c;
    if (cfg)
        c = *cfg;
    else
        as_default_config(&c);
    if (c.vocab_size < AS_DEFAULT_TOKENIZER_VOCAB)
        return as_err_set(err, AS_ERR_INVALID,
                          "vocab_size %d is smaller than the built-in tokenizer's %d pieces",
                          c.vocab_size, AS_DEFAULT_TOKENIZER_VOCAB);
    AS_TRY(as_bpe_train_write(as_default_corpus, AS_DEFAULT_TOKENIZER_VOCAB, dir, err));
    AS_TRY(as_model_init_synthetic(&m, &c, seed, err));
    AS_TRY(as_hf_write(&m, dir, dtype, err));
done:
    as_model_free(&m);
    return ret;
}
