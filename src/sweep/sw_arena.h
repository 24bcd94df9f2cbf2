/* sw_arena.h - the bottom layer of src/sweep: a chunked string arena (stable
 * pointers, freed at once) and a growable byte buffer (arena.c). Depends on
 * nothing else of the module. */
#ifndef ATTNSWEEP_SW_ARENA_H
#define ATTNSWEEP_SW_ARENA_H

#include <stddef.h>

struct sw_arena_block;
struct sw_arena {
    struct sw_arena_block *head;
    size_t bytes; /* total bytes handed out */
};
/* Returns n bytes aligned to 8, or NULL when out of memory. */
void *sw_arena_alloc(struct sw_arena *a, size_t n);
/* Copies s[0..n) and appends a NUL. */
char *sw_arena_strndup(struct sw_arena *a, const char *s, size_t n);
void sw_arena_free(struct sw_arena *a);

struct sw_buf {
    char *p; /* (len) + NUL, owned */
    size_t len, cap;
};
int sw_buf_add(struct sw_buf *b, const void *p, size_t n); /* 0 on OOM */
void sw_buf_free(struct sw_buf *b);

#endif
