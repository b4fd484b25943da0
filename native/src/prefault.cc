/*
 * The prefault helper (prefault.h). Each table it serves is a region that fills from its start, by
 * tracker entry (entries are taken in order 0, 1, 2, ...: src/conntrack/table.ts TableMeta.FRESH) or by
 * connection, or, for the tracker's slots, all at once (a hash scatters writes over every page). The
 * helper keeps each region faulted in to the end of the huge page that holds the progress plus a
 * lookahead: as many bytes as the replay has used of it, at least a batch's worth and at most three huge
 * pages (AHEAD_MIN, AHEAD_MAX). So the next pages are in before the replay reaches them, even when the
 * host is slow to back them (3.5-6.5 ms a page measured), a short replay costs the helper little, and at
 * the end at most a few pages per region were faulted in for nothing. One step of at most a huge page
 * at a time, so that stopping waits for one page's fault at most.
 */
#include "prefault.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <errno.h>
#include <mutex>
#include <new>
#include <thread>
#include <sys/mman.h>
#include "huge.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
#endif

namespace {

enum { BY_ENTRY, BY_ROW, WHOLE };
/*
 * The lookahead: at least a batch's worth of units, at most three huge pages. Measured against half a
 * page (1M packets, one process per run, order rotated, 12 rounds, medians of the ratios to no helper):
 * with 4 s between runs, so that the VM had handed the freed memory back to the host, three pages gave
 * 1.25x at the small and real tiers, half a page 1.22x and 1.17x; back to back, 1.03x and 0.99x against
 * 1.03x and 0.96x.
 */
constexpr uint64_t AHEAD_MIN = 4096, AHEAD_MAX = 3ull * HUGE_PAGE;
/* How long the helper waits between passes, and how long without progress before it gives up. */
constexpr std::chrono::microseconds PASS_WAIT{1000};
constexpr std::chrono::milliseconds IDLE_LIMIT{1000};

struct Region {
  uint8_t *base;
  size_t unit, bytes, done;
  int by;
};

/*
 * The pages of [from, to) made present and writable, as a write would fault them in; 0 when done, else
 * the kernel's errno. It writes no byte: the replay's own stores to the same pages stay as they are, and
 * memory unmapped meanwhile (a replay dropped on an error, its buffers collected) is refused, not touched.
 */
int populate(uint8_t *from, uint8_t *to) {
  uintptr_t a = (uintptr_t)from & ~(uintptr_t)(SMALL_PAGE - 1), b = (uintptr_t)to;
  if (b <= a) return 0;
  return madvise((void *)a, b - a, MADV_POPULATE_WRITE) == 0 ? 0 : errno;
}

}  // namespace

struct ns_prefault {
  Region regions[24];
  int count = 0;
  std::atomic<uint32_t> entries{0}, rows{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable wake;
  std::thread thread;
  double faulted = 0; /* bytes; read after the join */
  bool settle = false;

  void add(void *base, size_t unit, size_t bytes, int by) {
    if (base && bytes > 0 && count < (int)(sizeof regions / sizeof regions[0])) regions[count++] = Region{(uint8_t *)base, unit, bytes, 0, by};
  }

  /* Where region r should be faulted in up to now. */
  size_t target(const Region &r, uint32_t e, uint32_t n) const {
    if (r.by == WHOLE) return e >= 2 * (r.bytes / HUGE_PAGE + 1) ? r.bytes : 0; /* by then the hash has touched most of its pages */
    uint64_t used = (uint64_t)(r.by == BY_ENTRY ? e : n) * r.unit;
    uint64_t ahead = used < AHEAD_MIN * r.unit ? AHEAD_MIN * r.unit : used > AHEAD_MAX ? AHEAD_MAX : used;
    /* to the end of that huge page of the address space (the region need not start on one) */
    uint64_t end = (((uintptr_t)r.base + used + ahead + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1)) - (uintptr_t)r.base;
    return end < r.bytes ? (size_t)end : r.bytes;
  }

  /* One step (a huge page at most) for each region behind its target; false when none was. */
  bool pass() {
    uint32_t e = entries.load(std::memory_order_relaxed), n = rows.load(std::memory_order_relaxed);
    bool any = false;
    for (int k = 0; k < count && (settle || !stop.load(std::memory_order_relaxed)); k++) {
      Region &r = regions[k];
      size_t want = target(r, e, n);
      if (r.done >= want) continue;
      uint8_t *from = r.base + r.done;
      uint8_t *to = (uint8_t *)(((uintptr_t)from + HUGE_PAGE) & ~(uintptr_t)(HUGE_PAGE - 1));
      if (to > r.base + want) to = r.base + want;
      int refused = populate(from, to);
      if (refused == EINVAL) { /* a kernel before 5.14: nothing to be done */
        for (int j = 0; j < count; j++) regions[j].done = regions[j].bytes;
        return false;
      }
      if (refused) {
        r.done = r.bytes; /* out of memory, or unmapped: the replay faults these itself, or fails as it would anyway */
        continue;
      }
      faulted += (double)(to - from);
      r.done = (size_t)(to - r.base);
      any = true;
    }
    return any;
  }

  void run() {
    auto last = std::chrono::steady_clock::now();
    uint64_t seen = ~0ull;
    std::unique_lock<std::mutex> lock(mu);
    while (!stop.load(std::memory_order_relaxed)) {
      lock.unlock();
      while (pass()) {}
      lock.lock();
      if (stop.load(std::memory_order_relaxed)) break;
      uint64_t now_seen = ((uint64_t)entries.load(std::memory_order_relaxed) << 32) | rows.load(std::memory_order_relaxed);
      auto now = std::chrono::steady_clock::now();
      if (now_seen != seen) {
        seen = now_seen;
        last = now;
      } else if (!settle && now - last > IDLE_LIMIT) {
        break; /* the replay stalled or ended without stopping the helper: it is only a hint */
      }
      wake.wait_for(lock, PASS_WAIT, [this] { return stop.load(std::memory_order_relaxed); });
    }
    lock.unlock();
    if (settle) while (pass()) {} /* the progress is final: stop came after the last batch */
  }
};

ns_prefault *prefault_start(const ns_conntrack *ct, const ns_conns *conns, const ns_tally *tally, size_t tally_bytes, int mode) {
  ns_prefault *p = new (std::nothrow) ns_prefault();
  if (!p) return nullptr;
  p->settle = (mode & PREFAULT_SETTLE) != 0;
  p->add(ct->slots, 0, ct->slots_len * sizeof(int32_t), WHOLE);
  p->add(ct->tuples, 2 * TUPLE_WORDS * sizeof(uint32_t), ct->tuples_len * sizeof(uint32_t), BY_ENTRY);
  p->add(ct->prev, sizeof(int32_t), ct->prev_len * sizeof(int32_t), BY_ENTRY);
  p->add(ct->next, sizeof(int32_t), ct->next_len * sizeof(int32_t), BY_ENTRY);
  p->add(ct->expires, sizeof(double), ct->expires_len * sizeof(double), BY_ENTRY);
  p->add(ct->streamAt, sizeof(double), ct->streamAt_len * sizeof(double), BY_ENTRY);
  /* (ct->free is left out: it is written only when entries are removed, a stack rarely deep) */
  p->add(ct->state, 1, ct->state_len, BY_ENTRY);
  p->add(ct->status, 1, ct->status_len, BY_ENTRY);
  p->add(ct->lastIndex, 1, ct->lastIndex_len, BY_ENTRY);
  p->add(ct->lastDir, 1, ct->lastDir_len, BY_ENTRY);
  p->add((void *)tally, sizeof(ns_tally), tally_bytes, BY_ENTRY);
  for (int k = 0; k < CONN_COLUMNS; k++) p->add(conns_column(conns, k), CONN_COLUMN_BYTES[k], conns->mapped[k], BY_ROW);
  try {
    p->thread = std::thread([p] { p->run(); });
  } catch (...) {
    delete p;
    return nullptr;
  }
  return p;
}

void prefault_progress(ns_prefault *p, uint32_t entries, uint32_t rows) {
  p->entries.store(entries, std::memory_order_relaxed);
  p->rows.store(rows, std::memory_order_relaxed);
}

double prefault_stop(ns_prefault *p) {
  if (!p) return 0;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->stop.store(true, std::memory_order_relaxed);
  }
  p->wake.notify_one();
  p->thread.join();
  double faulted = p->faulted;
  delete p;
  return faulted;
}
