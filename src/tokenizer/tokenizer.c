/* tokenizer.c - as_tokenizer_load (which vocabulary source a path is) and free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

const char *as_tokenizer_source_name(enum as_tok_source s) {
    switch (s) {
    case AS_TOK_SOURCE_HF: return "tokenizer.json";
    case AS_TOK_SOURCE_LLAMA2C: return "llama2.c tokenizer.bin";
    case AS_TOK_SOURCE_GGUF: return "GGUF";
    }
    return "unknown";
}

void as_tokenizer_free(struct as_tokenizer *t) {
    if (!t) return;
    free(t->piece_data);
    free(t->piece_off);
    free(t->piece_len);
    free(t->type);
    free(t->score);
    free(t->dec_data);
    free(t->dec_off);
    free(t->dec_len);
    for (int i = 0; t->norm && i < t->n_norm; i++) {
        free(t->norm[i].pattern);
        free(t->norm[i].content);
    }
    free(t->norm);
    for (int i = 0; t->dec && i < t->n_dec; i++) {
        free(t->dec[i].pattern);
        free(t->dec[i].content);
    }
    free(t->dec);
    for (int i = 0; t->special && i < t->n_special; i++)
        free(t->special[i].text);
    free(t->special);
    free(t->index);
    free(t->pairs);
    free(t->bmp_id);
    free(t->junctions);
    free(t->paired);
    memset(t, 0, sizeof *t);
}

/* What kind of file: 'g' GGUF, 'j' JSON object, 'b' anything else (tokenizer.bin). */
static as_status sniff(const char *path, char *kind, struct as_err *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return as_err_set(err, AS_ERR_IO, "%s: cannot open the vocabulary file", path);
    unsigned char buf[64];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    *kind = 'b';
    if (n >= 4 && memcmp(buf, "GGUF", 4) == 0)
        *kind = 'g';
    else {
        size_t i = 0;
        if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3; /* UTF-8 BOM */
        while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
            i++;
        if (i < n && buf[i] == '{') *kind = 'j';
    }
    if (n == 0) return as_err_set(err, AS_ERR_FORMAT, "%s: the vocabulary file is empty", path);
    return AS_OK;
}

as_status as_tokenizer_load(struct as_tokenizer *t, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    memset(t, 0, sizeof *t);
    t->unk_id = t->bos_id = t->eos_id = -1;
    char json[4096], config[4096];
    if (!path || !*path) {
        ret = as_err_set(err, AS_ERR_INVALID, "tokenizer: no vocabulary path given");
        goto done;
    }
    if (as_dir_exists(path)) {
        AS_TRY(as_path_join(json, sizeof json, path, "tokenizer.json", err));
        AS_TRY(as_path_join(config, sizeof config, path, "tokenizer_config.json", err));
        if (!as_file_exists(json)) {
            ret =
                as_err_set(err, AS_ERR_IO,
                           "%s: no tokenizer.json in this directory (HINT: pass a tokenizer.json, "
                           "tokenizer.bin or .gguf file with --tokenizer)",
                           path);
            goto done;
        }
        AS_TRY(as_tok_load_hf(t, json, config, err));
        goto done;
    }
    if (!as_file_exists(path)) {
        ret = as_err_set(err, AS_ERR_IO, "%s: no such vocabulary file or directory", path);
        goto done;
    }
    char kind;
    AS_TRY(sniff(path, &kind, err));
    if (kind == 'g') {
        AS_TRY(as_tok_load_gguf(t, path, err));
    } else if (kind == 'j') {
        /* a tokenizer_config.json beside the tokenizer.json is part of the HF tokenizer */
        const char *slash = strrchr(path, '/');
        int dl = slash ? (int)(slash - path) : 0;
        snprintf(config, sizeof config, "%.*s%stokenizer_config.json", dl, path, slash ? "/" : "");
        AS_TRY(as_tok_load_hf(t, path, config, err));
    } else {
        AS_TRY(as_tok_load_llama2c(t, path, err));
    }
done:
    if (ret != AS_OK) as_tokenizer_free(t);
    return ret;
}

int as_tokenizer_add_bos_default(const struct as_tokenizer *t) {
    return t->bos_id >= 0 && t->add_bos;
}

const char *as_tokenizer_piece(const struct as_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    return t->piece_data + t->piece_off[id];
}

const char *as_tokenizer_token_str(const struct as_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    return t->dec_data + t->dec_off[id];
}
