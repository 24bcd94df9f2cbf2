/* arena.c - a chunked string arena and a growable byte buffer.
 *
 * A sweep may hold millions of prompts; one malloc per string would dominate
 * load time and fragment the heap. The arena hands out pieces of 1 MiB blocks
 * (or a dedicated block for a larger request); pointers stay valid until
 * sw_arena_free releases every block at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sw_arena.h"

#define SW_ARENA_BLOCK (1u << 20)

struct sw_arena_block {
    struct sw_arena_block *next;
    size_t used, cap;
    _Alignas(8) char data[];
};

void *sw_arena_alloc(struct sw_arena *a, size_t n) {
    size_t need = (n + 7u) & ~(size_t)7u;
    if (need < n) return NULL;
    struct sw_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > SW_ARENA_BLOCK ? need : SW_ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof *b) return NULL;
        struct sw_arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->used = 0;
        nb->cap = cap;
        if (b && need > SW_ARENA_BLOCK) {
            /* a big dedicated block goes behind the current one, so the
             * current block's free space stays usable */
            nb->next = b->next;
            b->next = nb;
            nb->used = need;
            a->bytes += n;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->bytes += n;
    return p;
}

char *sw_arena_strndup(struct sw_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = sw_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void sw_arena_free(struct sw_arena *a) {
    struct sw_arena_block *b = a->head;
    while (b) {
        struct sw_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->bytes = 0;
}

int sw_buf_add(struct sw_buf *b, const void *p, size_t n) {
    if (n > SIZE_MAX - b->len - 1) return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) return 0;
            cap *= 2;
        }
        char *q = realloc(b->p, cap);
        if (!q) return 0;
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 1;
}

void sw_buf_free(struct sw_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
