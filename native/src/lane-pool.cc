/* lane-pool.h: running the lanes' batches on N threads, and the hand-over of rows to them. */
#include <system_error>
#include "lane-pool.h"

namespace netsieve_addon {

namespace {

/* Window k's records of this lane's shard, decoded into its own batch, a batch at a time, and run. */
void runWindow(Lane *lane, int32_t k, int32_t file) {
  const Lanes *l = lane->lanes;
  const Lanes::Window &win = l->windows[k];
  ns_replay *r = &lane->st->r;
  uint32_t cap = (uint32_t)r->b->family_len, shards = (uint32_t)l->lanes.size();
  /* The lane's own part of the window's lists: written by this lane only, while no other uses the window. */
  uint32_t *mine = win.lists + (size_t)lane->index * win.list_room;
  uint32_t m = lane_records(win.lane_of, win.records, lane->index, mine);
  for (uint32_t done = 0; done < m;) {
    uint32_t used = 0;
    uint32_t rows = walk_lane(&win.walk, win.offsets, win.lane_of, mine + done, m - done, &used, r->b, cap, r->services,
                              r->nat, lane->index, shards);
    if (rows > 0) replay_lane(r, rows, file);
    done += used;
  }
}

/* The lane's oldest batch run through its replay (its runner held): unpacked into its own batch, or walked. */
void runOldest(Lane *lane) {
  ns_replay *r = &lane->st->r;
  uint32_t s = lane->queue.oldest(), n = lane->count[s];
  if (lane->window[s] >= 0) {
    runWindow(lane, lane->window[s], lane->file[s]);
  } else {
    lane_unpack_rows(lane->slots[s], n, r->b, r->services, lane->base[s]);
    replay_lane(r, n, lane->file[s]);
  }
  lane->queue.release();
}

/* A lane with a batch waiting that no thread is running. */
bool runnable(const Lane *lane) { return lane->queue.pending() && !lane->running.load(std::memory_order_acquire); }

}  // namespace

bool anyRunnable(const Lanes *l) {
  for (const Lane *lane : l->lanes) {
    if (runnable(lane)) return true;
  }
  return false;
}

bool anyPending(const Lanes *l) {
  for (const Lane *lane : l->lanes) {
    if (lane->queue.pending()) return true;
  }
  return false;
}

/* Runs the lane's oldest batch if it has one and no other thread is running it; whether it did. */
bool tryRun(Lanes *l, Lane *lane) {
  if (!runnable(lane) || !lane->queue.runner.try_lock()) return false;
  lane->running.store(true, std::memory_order_release);
  bool ran = lane->queue.pending();
  if (ran) runOldest(lane);
  lane->running.store(false, std::memory_order_release);
  lane->queue.runner.unlock();
  l->signal.ring();
  return ran;
}

/* Runs one batch of some lane, lane `first` tried first; whether it did. */
bool runAny(Lanes *l, size_t first) {
  size_t n = l->lanes.size();
  for (size_t i = 0; i < n; i++) {
    if (tryRun(l, l->lanes[(first + i) % n])) return true;
  }
  return false;
}

namespace {

/* A helper thread: runs batches, its own lane's first, until the lanes close with nothing left. */
void helperLoop(Lanes *l, size_t home) {
  for (;;) {
    if (runAny(l, home)) continue;
    if (l->closing.load() && !anyPending(l)) return;
    l->signal.waitUntil([l] { return anyRunnable(l) || l->closing.load(); });
  }
}

}  // namespace

void Lanes::release() {
  closing.store(true);
  desk->closing.store(true);
  signal.ring();
  for (std::thread &t : helpers) t.join();
  helpers.clear();
  for (Lane *lane : lanes) {
    huge_free(lane->slots[0], lane->slots_bytes);
    lane->slots[0] = nullptr;
    if (lane->index > 0) lane->st->finish();
  }
  for (Window &w : windows) {
    huge_free(w.own, w.own_bytes);
    w = Window{};
  }
  huge_free(window_arena, window_arena_bytes);
  window_arena = nullptr;
}

Lanes::~Lanes() {
  release();
  for (Lane *lane : lanes) delete lane;
  delete[] row_services;
  delete[] row_lane;
}

/* Step 2: every row of the batch into a free slot of its lane's ring, then the slots published. */
void handOver(Lanes *l, uint32_t rows, int32_t file) {
  double base = l->batch->recordIndex[0];
  ns_lane_row *out[MAX_LANES];
  for (size_t k = 0; k < l->lanes.size(); k++) {
    Lane *lane = l->lanes[k];
    helpUntil(l, lane, [lane] { return lane->queue.hasRoom(); });
    lane->slot = lane->queue.next();
    out[k] = lane->slots[lane->slot];
    lane->file[lane->slot] = file;
    lane->base[lane->slot] = base;
    lane->window[lane->slot] = -1;
  }
  uint32_t handed[MAX_LANES] = {0};
  lane_pack_rows(l->batch, rows, l->row_services, l->row_lane, base, out, handed);
  for (size_t k = 0; k < l->lanes.size(); k++) {
    Lane *lane = l->lanes[k];
    lane->count[lane->slot] = handed[k];
    lane->queue.publish();
  }
  l->signal.ring();
}

/* Until every lane has run every batch handed to it (the calling thread runs some itself). */
void drain(Lanes *l) {
  helpUntil(l, nullptr, [l] { return !anyPending(l); });
}

/* `sync`: each row takes its results from its lane's batch, once every lane has run the batch. */
void gatherResults(Lanes *l, uint32_t rows) {
  drain(l);
  for (Lane *lane : l->lanes) lane->handed = 0;
  ns_batch *b = l->batch;
  for (uint32_t i = 0; i < rows; i++) {
    Lane *lane = l->lanes[l->row_lane[i]];
    const ns_batch *v = lane->st->r.b;
    uint32_t j = lane->handed++;
    b->ctState[i] = v->ctState[j];
    b->verdict[i] = v->verdict[j];
    b->cost[i] = v->cost[j];
    b->decidedBy[i] = v->decidedBy[j];
  }
}

namespace {

/*
 * A lane's own batch: every column of the shared batch's size (its rows are at most the batch's),
 * 64-byte aligned, and its Services. Returns false when out of memory.
 */
bool ownBatch(ReplayState *st, const ns_batch *shared) {
  size_t cap = shared->family_len, bytes = 0;
  auto room = [](size_t n) { return (n + 63) & ~(size_t)63; };
#define NS_BYTES(name, type) bytes += room(shared->name##_len * sizeof(ns_##type));
  NS_BATCH_FIELDS(NS_BYTES)
#undef NS_BYTES
  bytes += room(cap * sizeof(int32_t));
  uint8_t *p = static_cast<uint8_t *>(huge_map(bytes)); /* zeroed, page-aligned */
  if (!p) return false;
  st->own_memory = p;
  st->own_bytes = bytes;
  st->own = *shared;
#define NS_CARVE(name, type) st->own.name = reinterpret_cast<ns_##type *>(p); p += room(shared->name##_len * sizeof(ns_##type));
  NS_BATCH_FIELDS(NS_CARVE)
#undef NS_CARVE
  st->r.services = reinterpret_cast<int32_t *>(p);
  st->r.b = &st->own;
  return true;
}

}  // namespace

/* Each lane's batch and ring, and the N - 1 helper threads; false when out of memory or threads. */
bool startLanes(Lanes *l, const std::vector<ReplayState *> &states) {
  size_t cap = l->batch->family_len > 0 ? l->batch->family_len : 1;
  l->row_services = new (std::nothrow) int32_t[cap];
  l->row_lane = new (std::nothrow) uint8_t[cap];
  if (!l->row_services || !l->row_lane) return false;
  for (ReplayState *st : states) {
    Lane *lane = new (std::nothrow) Lane();
    if (!lane) return false;
    lane->lanes = l;
    lane->index = (uint32_t)l->lanes.size();
    l->lanes.push_back(lane);
    lane->st = st;
    /* The ring's slots and the lane's batch in huge pages (huge.h): in 4 KiB pages they were about 130
       page faults a lane for the batch alone, which every lane clears, and 256 a slot when handed over. */
    lane->slots_bytes = LaneQueue::DEPTH * cap * sizeof(ns_lane_row);
    ns_lane_row *slots = static_cast<ns_lane_row *>(huge_map(lane->slots_bytes));
    if (!slots) return false;
    for (uint32_t s = 0; s < LaneQueue::DEPTH; s++) lane->slots[s] = slots + s * cap;
    if (!ownBatch(st, l->batch)) return false;
  }
  try {
    for (size_t h = 1; h < l->lanes.size(); h++) l->helpers.emplace_back(helperLoop, l, h);
  } catch (const std::system_error &) {
    return false; /* a thread the system would not start: the ones started are joined by ~Lanes */
  }
  return true;
}

}  // namespace netsieve_addon
