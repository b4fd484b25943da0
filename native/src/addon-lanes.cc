/*
 * `replay --threads N` in one process: N lanes, each a replay handle (addon-replay.cc) with its own
 * conntrack, model counters and connection table, run by N threads: the calling thread and N - 1
 * helpers. A classic pcap chunk goes to the lanes in one of two ways:
 *   - split (walkSplit, the default): the calling thread walks the chunk's record headers, tells a plain
 *     IPv4 record's lane from its bytes, and copies the records, their offsets and lanes into a window
 *     that every lane walks, decoding only the rows of its shard (walk.cc walk_sort, walk_lane). No row
 *     is decoded twice nor handed over, and the calling thread's own part is a few instructions a record.
 *   - hand-over (for `sync`, and for pcapng, whose rows TypeScript decodes): per batch, the calling
 *     thread (1) walks and decodes the records into the shared batch, applies DNAT and decides each
 *     row's shard (replay_prepare), each record read and decoded once; (2) hands each row to its shard's
 *     lane as one ns_lane_row (replay.h), streamed into the next free slot of the lane's ring
 *     (lane-queue.h), and returns to read the next batch.
 * Any of the N threads runs a lane's next batch (lane-pool.h).
 *
 * Only when the caller wants every row's verdict (`sync`: pcaps of allowed or dropped packets are
 * written) does a call wait for the lanes and copy their verdicts (and ctState, cost, decidedBy) back.
 * finishLanes waits for the lanes to empty their rings; mergeLanes merges their connection tables into
 * lane 0's (conns-merge.cc). src/replay/fused-lanes.ts drives this.
 *
 * The reference model's lanes ask its evaluator, JavaScript, through the calling thread (desk.h): that
 * thread answers between the rows it runs and while it waits (helpUntil).
 */
#include <system_error>
#include <thread>
#include <vector>
#include "lane-pool.h"

namespace netsieve_addon {

namespace {

Lanes *lanesOf(Napi::Value v) {
  Bound *b = handleOf(v, GROUP_LANES, "lanes");
  Lanes *l = b ? reinterpret_cast<Lanes *>(b->stack) : nullptr;
  if (l && l->merged) {
    Napi::TypeError::New(v.Env(), "native lanes: these lanes are merged already (the replay is over)").ThrowAsJavaScriptException();
    return nullptr;
  }
  return l;
}

/* Rows [0, rows) of the shared batch, decoded: DNAT and lanes, then handed over. */
Napi::Value runBatch(Napi::Env env, Lanes *l, uint32_t rows, int32_t file) {
  if (rows > 0) {
    const ns_replay &r0 = l->lanes[0]->st->r;
    replay_prepare(r0.nat, l->batch, 0, rows, (uint32_t)l->lanes.size(), l->row_services, l->row_lane);
    handOver(l, rows, file);
    if (l->sync) gatherResults(l, rows);
    l->packets += rows;
  }
  l->stats[RS_PACKETS] = l->packets;
  return Napi::Number::New(env, rows);
}

/*
 * shardRows(batchHandle, count, shards: 1..64, out: Uint8Array(count)): each row's lane as the lanes
 * shard it (replay.cc shard_of), so that a test can hold it to src/replay/shard.ts shardOf.
 */
Napi::Value ShardRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bound *bb = handleOf(info[0], GROUP_BATCH, "batch");
  if (!bb) return env.Undefined();
  double count = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  double shards = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
  size_t out_len = 0;
  uint8_t *out = viewOf<uint8_t>(env, info[3], napi_uint8_array, &out_len);
  if (!(count >= 0 && count <= (double)bb->batch.family_len && count == (uint32_t)count) ||
      !(shards >= 1 && shards <= 64 && shards == (uint32_t)shards) || !out || out_len < (size_t)count) {
    Napi::TypeError::New(env, "native shardRows(batch, count, shards, out): count within the batch, shards 1 to 64, out a Uint8Array of count").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  shard_rows(&bb->batch, (uint32_t)count, (uint32_t)shards, out);
  return env.Undefined();
}

/*
 * quickShards(natHandle, chunk, walkState, shards: 2..64, out: Int8Array): for each whole record of the
 * chunk from the state's position (at most out's length), its lane as the split walk tells it from the
 * record's bytes alone (the Service address filter built from `nat`, as bindLanes builds it), or -1 where
 * the split walk decodes the record in full; returns the records. For tests: where it tells, the lane
 * must be the one the full decode, DNAT and shardOf give. The state is left as it was.
 */
Napi::Value QuickShards(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bound *nb = handleOf(info[0], GROUP_NAT, "nat");
  ns_walk w;
  double *s;
  if (!nb || !walkArgs(env, info[1], info[2], &w, &s)) return env.Undefined();
  double shards = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : 0;
  size_t out_len = 0;
  int8_t *out = viewOf<int8_t>(env, info[4], napi_int8_array, &out_len);
  if (!out || !(shards >= 2 && shards <= MAX_LANES && shards == (uint32_t)shards)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "native quickShards(nat, chunk, state, shards: 2 to 64, out: Int8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint32_t> offsets(out_len);
  uint32_t untold = 0;
  return Napi::Number::New(env, walk_sort(&w, offsets.data(), out, (uint32_t)out_len, nb->nat.vips, (uint32_t)shards, &untold));
}

/* A reference model's handle: its ns_reference's context (addon-reference.cc bindReference). */
Bound *referenceOf(const ReplayState *st) { return static_cast<Bound *>(st->r.m.ref->ctx); }

/* Whether lane `st`'s reference model can run on a lane: bound with a question batch, and no other lane's. */
bool laneReference(const std::vector<ReplayState *> &earlier, const ReplayState *st) {
  if (!referenceOf(st)->question) return false;
  for (const ReplayState *e : earlier) {
    if (e->r.m.ref == st->r.m.ref) return false;
  }
  return true;
}

/*
 * bindLanes(replayHandles[], stats: Float64Array(RS_COUNT), sync: boolean): the lanes handle over N (2
 * to 64) replay handles bound with one batch, handle k the lane of shard k. The replay handles then
 * belong to it: each lane runs from a batch of its own, on any of the N threads. A reference model's
 * lanes each need a handle of their own, bound with a question batch (addon-reference.cc bindReference).
 */
Napi::Value BindLanes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t slots = 0;
  double *stats = viewOf<double>(env, info[1], napi_float64_array, &slots);
  uint32_t n = info[0].IsArray() ? info[0].As<Napi::Array>().Length() : 0;
  if (n < 2 || n > MAX_LANES || !stats || slots < RS_COUNT || !info[2].IsBoolean() || !info[3].IsBoolean()) {
    Napi::TypeError::New(env, "native bindLanes: (replayHandles: 2 to 64, stats: Float64Array(RS_COUNT), sync: boolean, split: boolean)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array handles = info[0].As<Napi::Array>();
  std::vector<ReplayState *> states;
  for (uint32_t k = 0; k < n; k++) {
    ReplayState *st = replayOf(handles.Get(k));
    if (!st) return env.Undefined();
    const ns_replay &r = st->r;
    if (r.model == MODEL_REFERENCE && !laneReference(states, st)) {
      Napi::TypeError::New(env, "native bindLanes: a lane's reference model needs a question batch, and a handle of its own").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if ((k > 0 && r.b != states[0]->r.b) || st->own_memory) {
      Napi::TypeError::New(env, "native bindLanes: the replays must all be bound with one batch, and be in no other lanes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    states.push_back(st);
  }
  Lanes *l = new Lanes();
  l->desk->js_thread = std::this_thread::get_id();
  for (ReplayState *st : states) {
    if (st->r.model == MODEL_REFERENCE) deskWire(l->desk, referenceOf(st));
  }
  l->stats = stats;
  l->sync = info[2].As<Napi::Boolean>().Value();
  /* The split walk leaves each row's results in its lane: not for `sync`, which wants them back in order. */
  l->split = !l->sync && info[3].As<Napi::Boolean>().Value();
  l->batch = states[0]->r.b;
  if (l->split) l->vips = states[0]->r.nat->vips; /* the NAT handle's, which the lanes' states keep bound */
  if (!startLanes(l, states)) {
    delete l;
    Napi::Error::New(env, "native bindLanes: out of memory for the lanes, or a thread would not start").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array keep = Napi::Array::New(env, 2);
  keep.Set(0u, handles);
  keep.Set(1u, info[1]);
  l->keep = Napi::Persistent(keep.As<Napi::Object>());
  return ownedHandle(env, GROUP_LANES, l);
}

/* A window of `room` bytes of records holds at most this many (a record is at least its header). */
static size_t windowRecords(size_t room) { return room / PCAP_RECORD_HEADER + 1; }

/* Where a window's lanes start: after its records, then their offsets, on a cache line. */
static size_t windowLanesAt(size_t room) { return (room + windowRecords(room) * sizeof(uint32_t) + 63) & ~(size_t)63; }

/* Where the lanes' lists of their records start: after the records' lanes, on a cache line. */
static size_t windowListsAt(size_t room) { return windowLanesAt(room) + ((windowRecords(room) + 63) & ~(size_t)63); }

/* Bytes a window of `room` bytes of records takes with their offsets, lanes and the `shards` lanes' lists. */
static size_t windowBytes(size_t room, size_t shards) { return windowListsAt(room) + shards * windowRecords(room) * sizeof(uint32_t); }

/* Window `win` over `p`: `room` bytes of records, then their offsets, their lanes, each lane's list. */
static void windowAt(Lanes::Window &win, uint8_t *p, size_t room) {
  win.bytes = p;
  win.offsets = reinterpret_cast<uint32_t *>(p + room);
  win.lane_of = reinterpret_cast<int8_t *>(p + windowLanesAt(room));
  win.lists = reinterpret_cast<uint32_t *>(p + windowListsAt(room));
  win.list_room = (uint32_t)windowRecords(room);
  win.room = room;
}

/*
 * Window `win` made able to hold `bytes` bytes of records (their offsets, lanes, the lanes' lists); false when out
 * of memory. The first call lays out every window in one mapping in huge pages (huge.h), each rounded up
 * to 64 KiB of records, so that the chunks that follow (the same size) fit: in 4 KiB pages the four
 * windows of 512 KiB chunks took about 500 page faults in every two-thread replay. A window that must
 * grow later (a pipe's first chunk can be its 64 KiB buffer) gets a mapping of its own.
 */
bool windowRoom(Lanes *l, Lanes::Window &win, size_t bytes) {
  if (bytes <= win.room) return true;
  if (!l->window_arena) {
    size_t room = (bytes + 0xffff) & ~(size_t)0xffff, each = windowBytes(room, l->lanes.size());
    l->window_arena = static_cast<uint8_t *>(huge_map(each * LaneQueue::DEPTH));
    if (!l->window_arena) return false;
    l->window_arena_bytes = each * LaneQueue::DEPTH;
    for (uint32_t k = 0; k < LaneQueue::DEPTH; k++) windowAt(l->windows[k], l->window_arena + k * each, room);
    if (bytes <= win.room) return true;
  }
  huge_free(win.own, win.own_bytes);
  size_t room = (bytes + 0xffff) & ~(size_t)0xffff;
  win.own_bytes = windowBytes(room, l->lanes.size());
  win.own = static_cast<uint8_t *>(huge_map(win.own_bytes));
  if (!win.own) {
    win.own_bytes = 0;
    win.room = 0;
    return false;
  }
  windowAt(win, win.own, room);
  return true;
}

/*
 * The split walk of the chunk's whole records: sorted here, each one's offset and (where its bytes tell
 * it) lane, and copied with them into the next window, which every lane then walks for its own rows
 * (runWindow) on whichever thread. The copy lets this call return at once, while the lanes run, and the
 * chunk be refilled: the lanes may be up to DEPTH windows behind, as with the hand-over. (Lanes walking
 * the caller's chunk itself had to finish it before each refill: measured no faster than the hand-over,
 * though fewer instructions.) A window is a chunk: a megabyte, about sixteen thousand 64-byte records.
 *
 * Every lane decodes in full each record whose bytes do not tell its lane: a capture of such records
 * (Linux cooked, VLAN-tagged, IPv6, Service traffic) would be decoded N times over. When more than a
 * quarter of a chunk's records are, the chunk is handed over instead (false: w as it came), and so are
 * the next SPLIT_RETRY batches before the split walk is tried again, about a quarter of a million
 * records, so that the sorting pass thrown away costs a few instructions a record (measured on 300k
 * Linux cooked records, split walk always: 0.063-0.128 s, hand-over 0.052-0.067 s, one thread 0.048 s).
 */
enum { SPLIT_RETRY = 64 };

bool walkSplit(Napi::Env env, Lanes *l, ns_walk *w, double *s, int32_t file, Napi::Value *rows) {
  /* Every lane done with the window this one replaces: each has room in its ring. */
  for (Lane *lane : l->lanes) helpUntil(l, lane, [lane] { return lane->queue.hasRoom(); });
  int32_t k = (int32_t)(l->published % LaneQueue::DEPTH);
  Lanes::Window &win = l->windows[k];
  if (!windowRoom(l, win, w->end - w->pos)) {
    Napi::Error::New(env, "native walkLanes: out of memory for a window of records").ThrowAsJavaScriptException();
    *rows = env.Undefined();
    return true;
  }
  ns_walk chunk = *w; /* from the chunk's position: offsets relative to it, as in the window's copy */
  chunk.buf = w->buf + w->pos;
  chunk.end = w->end - w->pos;
  chunk.pos = 0;
  uint32_t untold = 0;
  uint32_t n = walk_sort(&chunk, win.offsets, win.lane_of, (uint32_t)windowRecords(win.room), l->vips,
                         (uint32_t)l->lanes.size(), &untold);
  if ((uint64_t)untold * 4 > n) {
    l->handover_batches = SPLIT_RETRY;
    return false;
  }
  w->pos += chunk.pos;
  w->bad_caplen = chunk.bad_caplen;
  walkResult(s, w, n);
  if (n > 0) {
    memcpy(win.bytes, chunk.buf, chunk.pos);
    win.records = n;
    win.walk = chunk;
    win.walk.buf = win.bytes;
    win.walk.end = chunk.pos;
    win.walk.pos = 0;
    for (Lane *lane : l->lanes) {
      uint32_t slot = lane->queue.next();
      lane->file[slot] = file;
      lane->window[slot] = k;
      lane->queue.publish();
    }
    l->published++;
    l->signal.ring();
    l->packets += n;
  }
  l->stats[RS_PACKETS] = l->packets;
  *rows = Napi::Number::New(env, n);
  return true;
}

/* walkLanes(lanesHandle, chunk, walkState, fileIndex): walkReplay over the lanes; returns rows (records). */
Napi::Value WalkLanes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Lanes *l = lanesOf(info[0]);
  ns_walk w;
  double *s;
  if (!l || !walkArgs(env, info[1], info[2], &w, &s)) return env.Undefined();
  if (l->split && l->handover_batches == 0) {
    Napi::Value rows;
    if (walkSplit(env, l, &w, s, info[3].As<Napi::Number>().Int32Value(), &rows)) return rows;
  } else if (l->split) {
    l->handover_batches--;
  }
  w.decode = 1;
  uint32_t rows = walk_classic(&w, l->batch, (uint32_t)l->batch->family_len);
  walkResult(s, &w, rows);
  return runBatch(env, l, rows, info[3].As<Napi::Number>().Int32Value());
}

/* replayRowsLanes(lanesHandle, count, fileIndex): replayRows over the lanes (rows already decoded). */
Napi::Value ReplayRowsLanes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Lanes *l = lanesOf(info[0]);
  if (!l) return env.Undefined();
  uint32_t count = info[1].As<Napi::Number>().Uint32Value();
  if (count > l->batch->family_len) count = (uint32_t)l->batch->family_len;
  return runBatch(env, l, count, info[2].As<Napi::Number>().Int32Value());
}

/* finishLanes(lanesHandle): waits for every lane to run what it was handed; `stats` then the lanes' sums. */
Napi::Value FinishLanes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Lanes *l = lanesOf(info[0]);
  if (!l) return env.Undefined();
  drain(l);
  for (int k = 0; k < RS_COUNT; k++) l->stats[k] = 0;
  for (Lane *lane : l->lanes) {
    if (!checkFailed(env, lane->st)) return env.Undefined();
    for (int k = 0; k < RS_COUNT; k++) l->stats[k] += lane->st->r.stats[k];
  }
  return env.Undefined();
}

/*
 * mergeLanes(lanesHandle): after finishLanes, every lane's connection table merged into lane 0's, in
 * opening order, the cap applied to the whole (conns-merge.cc); lane 0's counters then give the merged
 * table's rows and overflow (takeConnections of lane 0's replay hands it over). The copy, whose fresh
 * pages cost most, is shared out: this thread and N - 1 others each copy a part. The lanes are over
 * afterwards (Lanes::release): their memory is freed and their handle refused.
 */
Napi::Value MergeLanes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Lanes *l = lanesOf(info[0]);
  if (!l) return env.Undefined();
  drain(l);
  std::vector<ns_conns *> tables;
  for (Lane *lane : l->lanes) {
    replay_flush(&lane->st->r);
    tables.push_back(&lane->st->conns);
  }
  ns_merge m;
  /* The lanes have run every window (drain): the windows' memory, already faulted in, holds the plan. */
  bool planned = conns_merge_plan(&m, tables.data(), (uint32_t)tables.size(), l->window_arena, l->window_arena_bytes);
  if (planned) {
    uint32_t parts = (uint32_t)tables.size();
    conns_merge_settle(&m);
    std::vector<std::thread> helpers;
    uint32_t k = 1;
    try {
      for (; k < parts; k++) helpers.emplace_back(conns_merge_copy, &m, k, parts);
    } catch (const std::system_error &) {
      /* the parts no thread took are copied here */
    }
    for (uint32_t rest = k; rest < parts; rest++) conns_merge_copy(&m, rest, parts);
    conns_merge_copy(&m, 0, parts);
    for (std::thread &t : helpers) t.join();
    conns_merge_finish(&m);
  }
  conns_merge_free(&m);
  if (!planned) {
    Napi::Error::New(env, "native mergeLanes: out of memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double *s0 = l->lanes[0]->st->r.stats;
  s0[RS_CONNECTIONS] = tables[0]->count;
  s0[RS_OVERFLOW] = tables[0]->overflow;
  l->release();
  l->merged = true;
  return env.Undefined();
}

}  // namespace

void registerLanes(Napi::Env env, Napi::Object exports) {
  exports.Set("bindLanes", Napi::Function::New(env, BindLanes));
  exports.Set("shardRows", Napi::Function::New(env, ShardRows));
  exports.Set("quickShards", Napi::Function::New(env, QuickShards));
  exports.Set("walkLanes", Napi::Function::New(env, WalkLanes));
  exports.Set("replayRowsLanes", Napi::Function::New(env, ReplayRowsLanes));
  exports.Set("finishLanes", Napi::Function::New(env, FinishLanes));
  exports.Set("mergeLanes", Napi::Function::New(env, MergeLanes));
}

}  // namespace netsieve_addon
