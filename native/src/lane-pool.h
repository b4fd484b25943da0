/*
 * The lanes of `replay --threads N` (addon-lanes.cc has the Node-API side): N lanes, each a replay handle
 * (addon-replay.cc) with its own conntrack, model counters and connection table, and a ring of batches
 * (lane-queue.h), run by N threads: the calling thread and N - 1 helpers.
 *
 * Any of the N threads runs a lane's next batch (unpacked into the lane's own batch, then replay_lane),
 * one thread at a time per lane, in order: a helper whenever a batch waits, the calling thread whenever
 * a ring it must fill is full. So exactly N threads share N cores, whichever part is slower at the
 * moment, reading or lanes. (Workers of their own for the lanes, with the calling thread as a producer
 * only, left the cores idle a third of the time: three threads on two cores, a lane starved while the
 * reader and the other lane shared one core.) A lane's rows are its alone, so no cache line is written
 * by two cores at once (lanes.cc says what sharing the decoded batch cost).
 *
 * The reference model's lanes ask its evaluator, JavaScript, through the calling thread (desk.h): that
 * thread answers between the rows it runs and while it waits (helpUntil).
 */
#ifndef NETSIEVE_LANE_POOL_H
#define NETSIEVE_LANE_POOL_H
#include <thread>
#include <vector>
#include "bound.h"
#include "desk.h"
#include "lane-queue.h"

namespace netsieve_addon {

enum { MAX_LANES = 64 };

struct Lanes;

/*
 * One lane: its replay, its ring of batches (rows, count, capture, first record index). A batch is either
 * rows handed over (in `slots`) or, `window` >= 0, one of the lanes' windows of records, which the lane
 * walks itself (the split walk: runWindow).
 */
struct Lane {
  ReplayState *st = nullptr;
  const Lanes *lanes = nullptr;
  uint32_t index = 0; /* its shard */
  LaneQueue queue;
  std::atomic<bool> running{false}; /* a thread holds its runner */
  ns_lane_row *slots[LaneQueue::DEPTH] = {}; /* one mapping from slots[0], of slots_bytes (startLanes) */
  size_t slots_bytes = 0;
  uint32_t count[LaneQueue::DEPTH] = {};
  int32_t file[LaneQueue::DEPTH] = {};
  double base[LaneQueue::DEPTH] = {};
  int32_t window[LaneQueue::DEPTH] = {}; /* per slot, set as it is published: -1 rows, else the window */
  uint32_t slot = 0;   /* the slot being filled */
  uint32_t handed = 0; /* sync: rows of the current batch whose results were gathered */
};

struct Lanes {
  std::vector<Lane *> lanes;
  std::vector<std::thread> helpers;
  std::shared_ptr<Desk> desk = std::make_shared<Desk>(); /* the reference model's questions (desk.h) */
  Signal &signal = desk->signal;
  std::atomic<bool> closing{false};
  ns_batch *batch = nullptr;       /* the shared batch (its Bound's), where the rows are decoded */
  int32_t *row_services = nullptr; /* per row of the shared batch: replay_prepare's Service and lane */
  uint8_t *row_lane = nullptr;
  bool sync = false;
  double packets = 0;              /* rows handed over: the progress the caller sees before the end */
  double *stats = nullptr;         /* RS_* slots: the lanes' summed by finishLanes; RS_PACKETS as handed */
  Napi::ObjectReference keep;      /* the lanes' replay handles and `stats` */
  /* The split walk (walk.cc walk_sort, walk_lane), when no row's results are wanted back. */
  bool split = false;
  /* Its windows: copies of chunks' whole records, window k of them in windows[k % DEPTH]. */
  struct Window {
    uint8_t *bytes = nullptr;   /* the records */
    uint32_t *offsets = nullptr; /* each one's offset in `bytes` */
    int8_t *lane_of = nullptr;  /* each one's lane as its bytes tell it, or -1 (walk.cc walk_sort) */
    uint32_t *lists = nullptr;  /* per lane, list_room entries: the records it looks at (walk.cc lane_records) */
    uint32_t list_room = 0;
    size_t room = 0;            /* bytes `bytes` holds; `offsets` and `lane_of` hold room / 16 + 1 records */
    uint8_t *own = nullptr;     /* a mapping of its own, of own_bytes, once it outgrew window_arena */
    size_t own_bytes = 0;
    uint32_t records = 0;
    ns_walk walk{};             /* over `bytes`: link type, byte order, the first record's index */
  } windows[LaneQueue::DEPTH];
  uint8_t *window_arena = nullptr;  /* every window's first memory, one mapping (addon-lanes.cc windowRoom) */
  size_t window_arena_bytes = 0;
  uint64_t published = 0;          /* windows handed to the lanes */
  uint32_t handover_batches = 0;   /* batches to hand over before the split walk is tried again (walkSplit) */
  const ns_vip_filter *vips = nullptr; /* the Service address filter (NULL: no Services), the NAT handle's */
  bool merged = false;             /* mergeLanes ran: release() freed the lanes' memory; the handle is refused */
  /*
   * After the merge: the helper threads stopped, the lanes' rings, windows and batches freed to the table
   * pool at once, not when V8 collects the handles (ReplayState::releaseTables says why), and lanes
   * 1..N-1 finished (ReplayState::finish). Lane 0's replay keeps its connection table for
   * takeConnections. Idempotent; on the JS thread (mergeLanes, the handle's finalizer).
   */
  void release();
  ~Lanes();
};

/* A lane with a batch waiting for a thread, and whether any lane has a batch waiting at all. */
bool anyRunnable(const Lanes *l);
bool anyPending(const Lanes *l);
/* Runs the lane's oldest batch if it has one and no other thread is running it; whether it did. */
bool tryRun(Lanes *l, Lane *lane);
/* Runs one batch of some lane, lane `first` tried first; whether it did. */
bool runAny(Lanes *l, size_t first);

/*
 * The calling thread, until `done`: answers the reference model's questions and runs batches itself while
 * it cannot go on. A question waiting is answered first, even when `done` already holds: its lane waits.
 */
template <typename Done> void helpUntil(Lanes *l, Lane *prefer, Done done) {
  Desk *desk = l->desk.get();
  deskServe(desk);
  while (!done()) {
    if (deskServe(desk)) continue;
    if (prefer && tryRun(l, prefer)) continue;
    if (runAny(l, 0)) continue;
    l->signal.waitUntil([&] { return done() || anyRunnable(l) || deskWaiting(desk); });
  }
}

/* Hand-over: every row of the shared batch into a free slot of its lane's ring, then the slots published. */
void handOver(Lanes *l, uint32_t rows, int32_t file);
/* Until every lane has run every batch handed to it (the calling thread runs some itself). */
void drain(Lanes *l);
/* `sync`: each row takes its results from its lane's batch, once every lane has run the batch. */
void gatherResults(Lanes *l, uint32_t rows);
/* Each lane's batch and ring, and the N - 1 helper threads; false when out of memory or threads. */
bool startLanes(Lanes *l, const std::vector<ReplayState *> &states);

}  // namespace netsieve_addon
#endif
