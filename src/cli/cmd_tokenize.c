/* cmd_tokenize.c - `attnsweep tokenize`: print ids, pieces, decoded tokens and
 * byte offsets of one text, as a table or as one JSON object. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/tokenizer.h"
#include "cli.h"

static const char USAGE[] =
    "usage: attnsweep tokenize --model PATH [--tokenizer PATH] [--no-bos] [--json] [--] TEXT\n"
    "\n"
    "  --model PATH      HF model directory (tokenizer.json inside), tokenizer.json,\n"
    "                    .gguf, or llama2.c tokenizer.bin\n"
    "  --tokenizer PATH  vocabulary to use instead of --model's (e.g. tok512.bin for a\n"
    "                    llama2.c model .bin)\n"
    "  --no-bos          do not prepend BOS (default: tokenizer_config.json add_bos_token)\n"
    "  --json            print {\"ids\", \"pieces\", \"tokens\", \"offsets\"} as one JSON object\n"
    "  TEXT              the text; '-' reads standard input byte for byte; put it after --\n"
    "                    when it starts with '-'\n";

static int fail(const char *msg) {
    fprintf(stderr, "attnsweep tokenize: error: %s\n", msg);
    return AS_EXIT_FAIL;
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "attnsweep tokenize: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return AS_EXIT_USAGE;
}

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (r == 0) break;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Prints s[0, n) with control characters escaped, padded to `width` code points. */
static void print_cell(const char *s, size_t n, int width) {
    int w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            w += printf("\\n");
        else if (c == '\t')
            w += printf("\\t");
        else if (c == '\r')
            w += printf("\\r");
        else if (c == '\\')
            w += printf("\\\\");
        else if (c < 0x20 || c == 0x7F)
            w += printf("\\x%02X", c);
        else {
            putchar(c);
            if ((c & 0xC0) != 0x80) w++; /* count code points, not bytes */
        }
    }
    for (; w < width; w++)
        putchar(' ');
}

static int print_json(const struct as_encoding *e) {
    json_t *o = json_object(), *ids = json_array(), *pieces = json_array(), *tokens = json_array(),
           *offs = json_array();
    int ok = o && ids && pieces && tokens && offs;
    for (int i = 0; ok && i < e->n; i++) {
        ok = json_array_append_new(ids, json_integer(e->ids[i])) == 0 &&
             json_array_append_new(pieces, json_string(e->pieces[i])) == 0 &&
             json_array_append_new(tokens, json_stringn(e->tokens[i], (size_t)e->token_lens[i])) ==
                 0 &&
             json_array_append_new(
                 offs, json_pack("[ii]", (int)e->offsets[2 * i], (int)e->offsets[2 * i + 1])) == 0;
    }
    if (ok) {
        json_object_set_new(o, "ids", ids);
        json_object_set_new(o, "pieces", pieces);
        json_object_set_new(o, "tokens", tokens);
        json_object_set_new(o, "offsets", offs);
        ids = pieces = tokens = offs = NULL;
        char *s = json_dumps(o, 0);
        ok = s != NULL;
        if (s) {
            fputs(s, stdout);
            fputc('\n', stdout);
            free(s);
        }
    }
    json_decref(ids);
    json_decref(pieces);
    json_decref(tokens);
    json_decref(offs);
    json_decref(o);
    return ok ? AS_EXIT_OK : fail("cannot build the JSON output");
}

static void print_table(const struct as_tokenizer *t, const char *vocab, int bos,
                        const struct as_encoding *e, const char *text) {
    printf("vocabulary: %s (%s, %d pieces), BOS: %s, %d tokens\n", vocab,
           as_tokenizer_source_name(t->source), (int)t->n_vocab, bos ? "yes" : "no", e->n);
    printf("%5s %7s  %-20s %-20s %-16s %s\n", "#", "id", "piece", "token", "span", "text");
    for (int i = 0; i < e->n; i++) {
        char span[48];
        int32_t s = e->offsets[2 * i], en = e->offsets[2 * i + 1];
        printf("%5d %7d  ", i, (int)e->ids[i]);
        print_cell(e->pieces[i], strlen(e->pieces[i]), 20);
        putchar(' ');
        print_cell(e->tokens[i], (size_t)e->token_lens[i], 20);
        snprintf(span, sizeof span, "[%d, %d)", (int)s, (int)en);
        printf(" %-16s ", span);
        print_cell(text + s, (size_t)(en - s), 0);
        putchar('\n');
    }
}

int as_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *vocab = NULL, *text_arg = NULL;
    int no_bos = 0, json = 0, rc = AS_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 2 != argc) return usage_error("expected exactly one TEXT after --%s", "");
            if (text_arg) return usage_error("more than one TEXT given%s", "");
            text_arg = argv[i + 1];
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return AS_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--no-bos") == 0) {
            no_bos = 1;
        } else if (strcmp(a, "--model") == 0 || strcmp(a, "--tokenizer") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a PATH", a);
            *(strcmp(a, "--model") == 0 ? &model : &vocab) = argv[++i];
        } else if (strncmp(a, "--model=", 8) == 0) {
            model = a + 8;
        } else if (strncmp(a, "--tokenizer=", 12) == 0) {
            vocab = a + 12;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(
                "unknown option '%s' (HINT: put TEXT after -- if it starts with '-')", a);
        } else {
            if (text_arg) return usage_error("more than one TEXT given ('%s')", a);
            text_arg = a;
        }
    }
    if (!model && !vocab) return usage_error("--model PATH is required%s", "");
    if (!text_arg) return usage_error("TEXT is missing (use '-' to read standard input)%s", "");

    char *text = NULL;
    size_t len;
    struct as_tokenizer t;
    struct as_encoding e;
    struct as_err err = {0};
    memset(&t, 0, sizeof t);
    memset(&e, 0, sizeof e);
    if (strcmp(text_arg, "-") == 0) {
        text = read_stdin(&len);
        if (!text) return fail("cannot read the text from standard input");
    } else {
        len = strlen(text_arg);
        text = malloc(len + 1);
        if (!text) return fail("out of memory");
        memcpy(text, text_arg, len + 1);
    }

    const char *path = vocab ? vocab : model;
    if (as_tokenizer_load(&t, path, &err) != AS_OK) {
        as_cli_error("tokenize", &err);
        rc = AS_EXIT_FAIL;
        goto done;
    }
    int bos = !no_bos && as_tokenizer_add_bos_default(&t);
    if (as_tokenizer_encode(&t, text, len, bos, &e, &err) != AS_OK) {
        as_cli_error("tokenize", &err);
        rc = AS_EXIT_FAIL;
        goto done;
    }
    if (json)
        rc = print_json(&e);
    else
        print_table(&t, path, bos, &e, text);
    if (fflush(stdout) != 0) rc = fail("cannot write to standard output");
done:
    as_encoding_free(&e);
    as_tokenizer_free(&t);
    free(text);
    return rc;
}
