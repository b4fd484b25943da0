/*
 * Memory for big tables, in transparent huge pages: a mapping reserved up front (MAP_NORESERVE: only
 * the pages touched are ever backed), starting on a 2 MiB boundary and advised for huge pages (the
 * kernel's default THP mode is "madvise"), so each 2 MiB touched costs one page fault. On this project's
 * VM a 4 KiB page fault costs about 16 us: 64 MiB touched took 267 ms in 4 KiB pages, 5 ms in huge pages
 * (/proc/vmstat thp_fault_alloc counts them). Fresh tables were a fifth of a replay before this.
 * Mappings freed are kept for the next replay's tables (table-pool.cc, below).
 */
#ifndef NETSIEVE_HUGE_H
#define NETSIEVE_HUGE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2u << 20 };

static inline size_t huge_round(size_t bytes) { return (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1); }

/* A fresh mapping of huge_round(bytes) bytes on a 2 MiB boundary, advised for huge pages; NULL if refused. */
static inline void *huge_map_fresh(size_t bytes) {
  size_t n = huge_round(bytes > 0 ? bytes : 1);
  uint8_t *p = (uint8_t *)mmap(NULL, n + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  if (a > p) munmap(p, (size_t)(a - p));
  if (p + HUGE_PAGE > a) munmap(a + n, (size_t)(p + HUGE_PAGE - a));
  madvise(a, n, MADV_HUGEPAGE); /* a hint: refused is fine */
  return a;
}

enum { SMALL_PAGE = 4096u };

static inline size_t small_round(size_t bytes) { return (bytes + SMALL_PAGE - 1) & ~(size_t)(SMALL_PAGE - 1); }

/*
 * A fresh mapping of small_round(bytes) bytes in 4 KiB pages, never huge ones, even where the kernel's THP
 * mode is "always": for an array a replay writes a few scattered entries of, such as the eBPF model's hit
 * counters (430 entries of 5M touched at the real tier). In huge pages each entry written cost a whole
 * 2 MiB page zeroed (19 of them at the real tier, 50 at the stress tier); here it costs 4 KiB. NULL if refused.
 */
static inline void *sparse_map_fresh(size_t bytes) {
  size_t n = small_round(bytes > 0 ? bytes : 1);
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  madvise(p, n, MADV_NOHUGEPAGE); /* a hint: refused is fine */
  return p;
}

/*
 * The tables' memory as the replay takes and frees it (table-pool.cc): zeroed memory, in huge pages
 * (huge_map, huge_round(bytes) on a 2 MiB boundary) or in 4 KiB pages (sparse_map, small_round(bytes)),
 * NULL if refused; freed by huge_free and sparse_free with the same byte count. A mapping freed is kept
 * for the next one of its size and kind, cleared when it is taken again, instead of being unmapped: on
 * the VMs this runs on the kernel hands freed memory back to the host at once (free page reporting, the
 * virtio balloon's), and the first write to such a page costs 2-3 ms a MiB, against 0.04 ms a MiB to
 * clear memory the process still has (native/README.md "Table memory").
 */
void *huge_map(size_t bytes);
void huge_free(void *p, size_t bytes);
void *sparse_map(size_t bytes);
void sparse_free(void *p, size_t bytes);
/* huge_free or sparse_free, as `huge` says the mapping was taken. */
void table_free(void *p, size_t bytes, bool huge);

/* What the pool holds and has done, for tests and the bench (tablePool() in addon-replay.cc). */
struct table_pool_stats {
  double kept_mappings, kept_bytes, kept_resident, reused, reused_bytes, fresh, fresh_bytes, cleared_bytes;
};
table_pool_stats table_pool_stats_now();
/* Every kept mapping unmapped; the bytes they held resident. */
double table_pool_release();

#endif
