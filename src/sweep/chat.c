/* chat.c - chat prompts (docs/SWEEP.md "Chat prompts"): the chat_template /
 * chat / system keys of the top level or of a group -> the bytes the group's
 * prompts are wrapped in.
 *
 * A chat template is a string with exactly one {prompt} and optionally
 * {system}; `{{` and `}}` are literal braces. `chat: true` reads the model's
 * tokenizer_config.json and accepts only the formats listed in known[]. The
 * wrapped text is what the model reads; prompts[].prompt_start / prompt_len
 * say where the user's prompt is inside it, so spans stay in the prompt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "sweep_internal.h"

/* The chat formats `chat: true` knows, by the exact Jinja chat_template of
 * tokenizer_config.json. */
static const struct {
    const char *name, *jinja, *format, *system_format;
} known[] = {
    {"zephyr (TinyLlama-1.1B-Chat-v1.0)",
     "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + "
     "message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ "
     "'<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' "
     "%}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if "
     "loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
     "<|user|>\n{prompt}</s>\n<|assistant|>\n",
     "<|system|>\n{system}</s>\n<|user|>\n{prompt}</s>\n<|assistant|>\n"},
};

#define HOW_TO                                                                                     \
    "HINT: write the format out instead, e.g. chat_template: "                                     \
    "\"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\" (TinyLlama-Chat's zephyr format; add "         \
    "{system} and a system: text for a system prompt)"

/* The folder whose tokenizer_config.json `chat: true` reads: the tokenizer's
 * (the path itself if a folder, else its folder), else the model's. */
static void config_path(const struct sw_ctx *c, char *out, size_t cap) {
    const struct as_sweep *s = c->s;
    const char *p = c->ov && c->ov->tokenizer_path ? c->ov->tokenizer_path : s->tokenizer_path;
    if (!p[0]) p = c->ov && c->ov->model_path ? c->ov->model_path : s->model_path;
    struct stat st;
    if (stat(p, &st) != 0 || S_ISDIR(st.st_mode)) { /* a folder (or a missing one: named as is) */
        snprintf(out, cap, "%s/tokenizer_config.json", p);
        return;
    }
    const char *slash = strrchr(p, '/'); /* a file: tokenizer.json, tokenizer.bin, model .bin */
    if (!slash)
        snprintf(out, cap, "tokenizer_config.json");
    else
        snprintf(out, cap, "%.*s/tokenizer_config.json", (int)(slash - p), p);
}

/* `chat: true` at node: the known format of the model's chat_template. */
static as_status chat_from_config(struct sw_ctx *c, int32_t node, struct sw_chat *ch) {
    char path[AS_SWEEP_PATH_MAX + 32];
    config_path(c, path, sizeof path);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "chat: true, but %s cannot be read (%s); expected the model's "
                       "tokenizer_config.json with a chat_template. " HOW_TO,
                       path, je.text);
    json_t *tpl = json_is_object(j) ? json_object_get(j, "chat_template") : NULL;
    const char *jinja = json_is_string(tpl) ? json_string_value(tpl) : NULL;
    as_status ret = AS_OK;
    int k = -1;
    for (size_t i = 0; jinja && i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(jinja, known[i].jinja)) k = (int)i;
    if (k < 0) {
        ret = sw_errf(c->t, node, AS_ERR_INVALID,
                      "chat: true, but %s %s; expected one of the chat templates attnsweep "
                      "knows: %s. " HOW_TO,
                      path,
                      !tpl     ? "has no \"chat_template\""
                      : !jinja ? "has a \"chat_template\" that is not a string"
                               : "has a \"chat_template\" attnsweep does not know",
                      known[0].name);
    } else {
        ch->on = 1, ch->node = node;
        ch->tpl = known[k].format, ch->tpl_sys = known[k].system_format;
    }
    json_decref(j);
    return ret;
}

as_status sw_chat_parse(struct sw_ctx *c, int32_t map, const char *what, struct sw_chat *ch) {
    struct sw_tree *t = c->t;
    int32_t tn = sw_map_get(t, map, "chat_template"), cn = sw_map_get(t, map, "chat");
    int32_t sn = sw_map_get(t, map, "system");
    if (tn >= 0 && sw_is_null(&t->nodes[tn])) tn = -1;
    if (sn >= 0 && sw_is_null(&t->nodes[sn])) { /* system: null drops an inherited system text */
        ch->system = NULL;
        sn = -1;
    }
    if (tn >= 0 && cn >= 0)
        return sw_errf(t, cn, AS_ERR_INVALID,
                       "%s has both chat: and chat_template:; expected one of them (chat: true "
                       "reads the model's format, chat_template: gives it)",
                       what);
    if (cn >= 0) {
        int64_t b;
        if (sw_scalar_type(&t->nodes[cn], &b, NULL) != SW_S_BOOL)
            return sw_errf(t, cn, AS_ERR_INVALID,
                           "chat of %s is '%.60s'; expected true or false (or chat_template: "
                           "\"...{prompt}...\")",
                           what,
                           t->nodes[cn].kind == SW_SCALAR ? t->nodes[cn].str : "not a scalar");
        if (b) {
            as_status ret = chat_from_config(c, cn, ch);
            if (ret != AS_OK) return ret;
        } else {
            ch->on = 0, ch->node = cn;
        }
    }
    if (tn >= 0) {
        const char *v;
        as_status ret = sw_get_str(t, tn, "chat_template", &v, NULL);
        if (ret != AS_OK) return ret;
        ch->on = 1, ch->node = tn, ch->tpl = v, ch->tpl_sys = v;
    }
    if (sn >= 0) {
        as_status ret = sw_get_str(t, sn, "system", &ch->system, NULL);
        if (ret != AS_OK) return ret;
        ch->system_node = sn;
    }
    return AS_OK;
}

as_status sw_chat_resolve(struct sw_ctx *c, struct sw_chat *ch) {
    struct sw_tree *t = c->t;
    ch->pre = ch->post = NULL, ch->pre_len = ch->post_len = 0;
    if (!ch->on) {
        if (ch->system)
            return sw_errf(t, ch->system_node, AS_ERR_INVALID,
                           "system: is given but no chat template is; expected chat: true or "
                           "chat_template: \"...{system}...{prompt}...\" with it");
        return AS_OK;
    }
    const char *tpl = ch->system ? ch->tpl_sys : ch->tpl;
    struct sw_buf b = {0};
    size_t n_prompt = 0, split = 0;
    int has_system = 0;
    as_status ret = AS_OK;
    for (size_t i = 0; tpl[i]; i++) {
        const char *q = tpl + i;
        int ok;
        if ((q[0] == '{' && q[1] == '{') || (q[0] == '}' && q[1] == '}')) {
            ok = sw_buf_add(&b, q, 1), i++;
        } else if (!strncmp(q, "{prompt}", 8)) {
            n_prompt++, split = b.len, ok = 1, i += 7;
        } else if (!strncmp(q, "{system}", 8)) {
            has_system = 1, i += 7;
            ok = !ch->system || sw_buf_add(&b, ch->system, strlen(ch->system));
            if (!ch->system) {
                ret = sw_errf(t, ch->node, AS_ERR_INVALID,
                              "the chat template uses {system} but no system: text is given; "
                              "expected system: \"...\" next to it (or drop {system})");
                goto done;
            }
        } else if (q[0] == '{' || q[0] == '}') {
            size_t n = 1;
            while (q[0] == '{' && q[n] && q[n - 1] != '}' && n < 40)
                n++;
            ret = sw_errf(t, ch->node, AS_ERR_INVALID,
                          "the chat template has '%.*s' at byte %zu; expected only {prompt}, "
                          "{system}, or {{ and }} for literal braces",
                          (int)n, q, i);
            goto done;
        } else {
            ok = sw_buf_add(&b, q, 1);
        }
        if (!ok) {
            ret = SW_OOM(c);
            goto done;
        }
    }
    if (n_prompt != 1) {
        ret = sw_errf(t, ch->node, AS_ERR_INVALID,
                      "the chat template has %zu {prompt}; expected exactly one, e.g. "
                      "\"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"",
                      n_prompt);
        goto done;
    }
    if (ch->system && !has_system) {
        ret = sw_errf(t, ch->system_node, AS_ERR_INVALID,
                      "system: is given but the chat template has no {system}; expected a "
                      "template like \"<|system|>\\n{system}</s>\\n<|user|>\\n{prompt}</s>\\n"
                      "<|assistant|>\\n\" (or drop system:)");
        goto done;
    }
    if (!(ch->pre = sw_arena_strndup(c->arena, b.len ? b.p : "", split)) ||
        !(ch->post = sw_arena_strndup(c->arena, b.len ? b.p + split : "", b.len - split))) {
        ret = SW_OOM(c);
        goto done;
    }
    ch->pre_len = split, ch->post_len = b.len - split;
done:
    sw_buf_free(&b);
    return ret;
}

char *sw_chat_format(struct sw_ctx *c, const struct sw_chat *ch) {
    if (!ch->on) return NULL;
    char *f = sw_arena_alloc(c->arena, ch->pre_len + 8 + ch->post_len + 1);
    if (!f) return NULL;
    memcpy(f, ch->pre, ch->pre_len);
    memcpy(f + ch->pre_len, "{prompt}", 8);
    memcpy(f + ch->pre_len + 8, ch->post, ch->post_len + 1);
    return f;
}
