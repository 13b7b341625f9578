/*
 * imprint's glue for the WebAssembly build of libdeflate (scripts/build-libdeflate-wasm.sh).
 * libdeflate is built FREESTANDING (no libc): it brings its own memset/memcpy/memmove/memcmp, and
 * takes its allocator from libdeflate_set_memory_allocator. This file gives it a bump allocator over
 * the module's linear memory (grown as needed) that never frees: imprint allocates one compressor per
 * level and its input and output buffers, and reuses them for the life of the module.
 */
#include <stddef.h>
#include "libdeflate.h"

extern unsigned char __heap_base;
static size_t heap_top;

static void *bump(size_t n)
{
	if (heap_top == 0)
		heap_top = (size_t)&__heap_base;
	size_t start = (heap_top + 63) & ~(size_t)63;
	if (n > (size_t)-1 - start)
		return NULL;
	size_t end = start + n;
	size_t have = __builtin_wasm_memory_size(0) * 65536;
	if (end > have) {
		size_t pages = (end - have + 65535) / 65536;
		if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
			return NULL;
	}
	heap_top = end;
	return (void *)start;
}

static void no_free(void *p)
{
	(void)p;
}

/* Called once, before anything else. */
void imprint_init(void)
{
	libdeflate_set_memory_allocator(bump, no_free);
}

/* Memory for the caller's buffers (64-byte aligned), or NULL when the memory cannot grow. */
void *imprint_alloc(size_t n)
{
	return bump(n);
}
