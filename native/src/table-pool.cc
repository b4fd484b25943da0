/*
 * The tables' memory (huge.h huge_map, sparse_map): mappings a replay freed are kept for the next replay
 * in this process that asks for the same size and kind, instead of being unmapped.
 *
 * Why: a replay's tables (conntrack entries and slots, tallies, the connection table, the lanes' rings)
 * are tens of MiB written from empty, and on the VMs this runs on the kernel reports freed memory to the
 * host as soon as it is free (free page reporting, min_free_ms 0): each first write to such a page then
 * waits for the host. Measured here (native/README.md "Table memory"): 2.0-2.9 ms a MiB for memory the
 * process just unmapped and mapped again after 3 s, 0.11-0.21 ms at once, 0.04 ms a MiB to clear memory
 * the process holds. A two-thread replay has no idle core for the prefault helper (prefault.h), so its
 * lanes waited on that memory themselves: perf put 30-45% of a helper lane's samples in clear_page_erms.
 *
 * A kept mapping is cleared when taken, by the thread that takes it (the replay that uses the memory pays
 * for clearing it): mincore tells its resident pages; each one not already zero is zeroed, and runs of
 * pages not resident are dropped (MADV_DONTNEED: a page swapped out is then zero again). A page that was
 * only read (the kernel's zero page) is left alone, so clearing never faults fresh memory in.
 *
 * A kept mapping is inaccessible (PROT_NONE) until taken: a pointer into tables a replay freed faults, as
 * it did when freed tables were unmapped, instead of writing into the next replay's tables. mprotect
 * leaves the pages resident; with whole huge pages it changes one page-table entry a 2 MiB page.
 *
 * Bounded: at most KEEP_MAPPINGS mappings and KEEP_RESIDENT bytes resident; beyond, the oldest kept are
 * unmapped. tablePool(true) (addon-replay.cc) unmaps them all; src/native/table-pool.ts calls it once the
 * process has run no replay for a while (releaseTablesWhenIdle).
 */
#include <stdint.h>
#include <string.h>
#include <mutex>
#include <vector>
#include "huge.h"

namespace {

constexpr size_t KEEP_MAPPINGS = 64;
constexpr size_t KEEP_RESIDENT = size_t(1) << 30;

struct Kept {
  uint8_t *p;
  size_t bytes;
  bool huge;
  size_t resident;
};

std::mutex mu;
std::vector<Kept> kept; /* oldest first */
size_t kept_resident = 0;
table_pool_stats counts{};

/* Resident 4 KiB pages of [p, p + bytes), one byte each (bit 0), or empty when mincore refuses. */
std::vector<unsigned char> residency(uint8_t *p, size_t bytes) {
  std::vector<unsigned char> v(bytes / SMALL_PAGE);
  if (!v.empty() && mincore(p, bytes, v.data()) != 0) v.clear();
  return v;
}

size_t residentBytes(uint8_t *p, size_t bytes) {
  std::vector<unsigned char> v = residency(p, bytes);
  if (v.empty()) return bytes; /* unknown: counted as all resident */
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n * SMALL_PAGE;
}

bool pageIsZero(const uint8_t *page) {
  const uint64_t *w = reinterpret_cast<const uint64_t *>(page);
  for (size_t k = 0; k < SMALL_PAGE / 8; k += 8) {
    if ((w[k] | w[k + 1] | w[k + 2] | w[k + 3] | w[k + 4] | w[k + 5] | w[k + 6] | w[k + 7]) != 0) return false;
  }
  return true;
}

/* The mapping read as zeroes again; the bytes cleared. */
size_t clearMapping(uint8_t *p, size_t bytes) {
  std::vector<unsigned char> v = residency(p, bytes);
  if (v.empty()) {
    madvise(p, bytes, MADV_DONTNEED); /* mincore refused: let the kernel drop it all */
    return 0;
  }
  size_t cleared = 0, pages = v.size();
  for (size_t k = 0; k < pages;) {
    size_t run = k;
    if ((v[k] & 1) == 0) {
      while (run < pages && (v[run] & 1) == 0) run++;
      madvise(p + k * SMALL_PAGE, (run - k) * SMALL_PAGE, MADV_DONTNEED);
      k = run;
      continue;
    }
    uint8_t *page = p + k * SMALL_PAGE;
    if (!pageIsZero(page)) {
      memset(page, 0, SMALL_PAGE);
      cleared += SMALL_PAGE;
    }
    k++;
  }
  return cleared;
}

void *take(size_t bytes, bool huge) {
  Kept found{nullptr, 0, false, 0};
  {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t k = kept.size(); k-- > 0;) {
      if (kept[k].bytes != bytes || kept[k].huge != huge) continue;
      found = kept[k];
      kept.erase(kept.begin() + (ptrdiff_t)k);
      kept_resident -= found.resident;
      break;
    }
  }
  /* Readable and writable again (kept mappings are PROT_NONE); if the kernel refuses, a fresh one instead. */
  if (found.p && mprotect(found.p, bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(found.p, bytes);
    found.p = nullptr;
  }
  if (found.p) {
    size_t cleared = clearMapping(found.p, bytes);
    std::lock_guard<std::mutex> lock(mu);
    counts.reused += 1;
    counts.reused_bytes += (double)bytes;
    counts.cleared_bytes += (double)cleared;
    return found.p;
  }
  void *p = huge ? huge_map_fresh(bytes) : sparse_map_fresh(bytes);
  if (p) {
    std::lock_guard<std::mutex> lock(mu);
    counts.fresh += 1;
    counts.fresh_bytes += (double)bytes;
  }
  return p;
}

void give(void *p, size_t bytes, bool huge) {
  if (!p) return;
  uint8_t *at = static_cast<uint8_t *>(p);
  size_t resident = residentBytes(at, bytes);
  mprotect(at, bytes, PROT_NONE); /* refused (out of mappings): kept accessible, as before */
  std::vector<Kept> dropped;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (resident <= KEEP_RESIDENT) {
      kept.push_back(Kept{at, bytes, huge, resident});
      kept_resident += resident;
    } else {
      dropped.push_back(Kept{at, bytes, huge, resident});
    }
    while (kept.size() > KEEP_MAPPINGS || kept_resident > KEEP_RESIDENT) {
      dropped.push_back(kept.front());
      kept_resident -= kept.front().resident;
      kept.erase(kept.begin());
    }
  }
  for (const Kept &k : dropped) munmap(k.p, k.bytes);
}

}  // namespace

void *huge_map(size_t bytes) { return take(huge_round(bytes > 0 ? bytes : 1), true); }
void huge_free(void *p, size_t bytes) { give(p, huge_round(bytes > 0 ? bytes : 1), true); }
void *sparse_map(size_t bytes) { return take(small_round(bytes > 0 ? bytes : 1), false); }
void sparse_free(void *p, size_t bytes) { give(p, small_round(bytes > 0 ? bytes : 1), false); }
void table_free(void *p, size_t bytes, bool huge) { huge ? huge_free(p, bytes) : sparse_free(p, bytes); }

table_pool_stats table_pool_stats_now() {
  std::lock_guard<std::mutex> lock(mu);
  table_pool_stats s = counts;
  s.kept_mappings = (double)kept.size();
  s.kept_bytes = 0;
  for (const Kept &k : kept) s.kept_bytes += (double)k.bytes;
  s.kept_resident = (double)kept_resident;
  return s;
}

double table_pool_release() {
  std::vector<Kept> all;
  {
    std::lock_guard<std::mutex> lock(mu);
    all.swap(kept);
    kept_resident = 0;
  }
  double resident = 0;
  for (const Kept &k : all) {
    resident += (double)k.resident;
    munmap(k.p, k.bytes);
  }
  return resident;
}
