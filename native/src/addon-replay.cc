/*
 * The Node-API side of the native replay (replay.cc): a replay handle binds one model, its tracker, the
 * Service NAT tables, the batch, a counters array and the connection table (C memory, freed with the
 * handle); then one call per batch, and at the end the table's own memory handed to V8 (takeConnections).
 */
#include <string>
#include <new>
#include <string.h>
#include <sys/mman.h>
#include <v8.h>
#include "bound.h"
#include "huge.h"

namespace netsieve_addon {

bool natFits(const ns_nat *n) {
  if (n->params_len < NAT_PARAM_SLOTS) return false;
  int32_t mask = n->params[NAT_PARAM_MASK], count = n->params[NAT_PARAM_COUNT];
  if (mask < 0 || (size_t)mask + 1 != n->slots_len || ((uint32_t)mask & ((uint32_t)mask + 1)) != 0) return false;
  if (count < 0 || (size_t)count >= n->slots_len || (size_t)count > n->family_len || (size_t)count > n->port_len ||
      (size_t)count > n->proto_len || (size_t)count * 4 > n->addr_len || (size_t)count > n->backendStart_len ||
      (size_t)count > n->backendCount_len || n->backendAddr_len < n->backendPort_len * 4) return false;
  for (int32_t s = 0; s < count; s++) {
    int64_t start = n->backendStart[s], k = n->backendCount[s];
    if (start < 0 || k < 0 || (size_t)(start + k) > n->backendPort_len) return false;
  }
  for (size_t h = 0; h < n->slots_len; h++) if (n->slots[h] < 0 || n->slots[h] > count) return false;
  return true;
}

ReplayState *replayOf(Napi::Value v) {
  Bound *b = handleOf(v, GROUP_REPLAY, "replay");
  ReplayState *st = b ? reinterpret_cast<ReplayState *>(b->stack) : nullptr;
  if (st && st->finished) {
    Napi::TypeError::New(v.Env(), "native replay: this replay is over (its connection table was taken)").ThrowAsJavaScriptException();
    return nullptr;
  }
  return st;
}

namespace {

template <typename T> T *arrayOf(Napi::Value v, napi_typedarray_type type, size_t least) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) return nullptr;
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  if (a.ElementLength() < least) return nullptr;
  return reinterpret_cast<T *>(static_cast<uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

/*
 * bindReplay(model, modelHandle, ctHandle, natHandle, batchHandle, stats: Float64Array(RS_COUNT),
 * services: Int32Array(batch capacity), maxConnections, prefault: PREFAULT_* bits or 0): the replay handle
 * (run alone, or as a lane of bindLanes, addon-lanes.cc); with PREFAULT_ON it starts its prefault helper
 * (prefault.h), which takeConnections stops.
 */
Napi::Value BindReplay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bound *m = modelHandle(info[0], info[1]);
  Bound *c = m ? handleOf(info[2], GROUP_CONNTRACK, "conntrack") : nullptr;
  Bound *n = c ? handleOf(info[3], GROUP_NAT, "nat") : nullptr;
  Bound *bb = n ? handleOf(info[4], GROUP_BATCH, "batch") : nullptr;
  if (!bb) return env.Undefined();
  size_t cap = bb->batch.family_len;
  double *stats = arrayOf<double>(info[5], napi_float64_array, RS_COUNT);
  int32_t *services = arrayOf<int32_t>(info[6], napi_int32_array, cap);
  double max = info[7].As<Napi::Number>().DoubleValue();
  if (!stats || !services || !(max >= 1 && max <= 1u << 30) || !info[8].IsNumber() || cap > c->ct.pending_len || cap > c->ct.fragmentVerdict_len) {
    Napi::TypeError::New(env, "native bindReplay: stats, services, maxConnections or prefault wrong, or conntrack scratch smaller than the batch").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ReplayState *st = new ReplayState();
  if (!conns_init(&st->conns, (uint32_t)max)) {
    delete st;
    Napi::Error::New(env, "native replay: out of memory for the connection table").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int model = info[0].As<Napi::Number>().Int32Value();
  st->tally_bytes = c->ct.expires_len * sizeof(ns_tally);
  st->tally = static_cast<ns_tally *>(huge_map(st->tally_bytes)); /* zeroed: no entry knows its connection */
  if (!st->tally) {
    delete st;
    Napi::Error::New(env, "native replay: out of memory for the conntrack entries' tallies").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  st->r = ns_replay{model, modelOf(m), &c->ct, &n->nat, &bb->batch, &st->conns, stats, services, st->tally, nullptr};
  /* Without a thread (refused) the replay runs as it would without the helper. */
  int prefault = info[8].As<Napi::Number>().Int32Value();
  if (prefault & PREFAULT_ON) st->r.prefault = prefault_start(&c->ct, &st->conns, st->tally, st->tally_bytes, prefault);
  Napi::Array keep = Napi::Array::New(env, 6);
  for (uint32_t k = 0; k < 6; k++) keep.Set(k, info[k + 1]);
  st->keep = Napi::Persistent(keep.As<Napi::Object>());
  return ownedHandle(env, GROUP_REPLAY, st);
}

}  // namespace

bool checkFailed(Napi::Env env, ReplayState *st) {
  if (!referenceOk(env, st->r.m.ref)) return false;
  if (replay_failed(&st->r) == 0) return true;
  Napi::Error::New(env, "native replay: out of memory growing the connection table").ThrowAsJavaScriptException();
  return false;
}

namespace {

/* replayRows(replayHandle, count, fileIndex): rows [0, count) of the bound batch, already decoded. */
Napi::Value ReplayRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ReplayState *st = replayOf(info[0]);
  if (!st) return env.Undefined();
  uint32_t count = info[1].As<Napi::Number>().Uint32Value();
  if (count > st->r.b->family_len) count = (uint32_t)st->r.b->family_len;
  replay_rows(&st->r, count, info[2].As<Napi::Number>().Int32Value());
  checkFailed(env, st);
  return env.Undefined();
}

/* walkReplay(replayHandle, chunk, walkState, fileIndex): walk and decode records of the chunk, then replayRows. */
Napi::Value WalkReplay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ReplayState *st = replayOf(info[0]);
  ns_walk w;
  double *s;
  if (!st || !walkArgs(env, info[1], info[2], &w, &s)) return env.Undefined();
  w.decode = 1;
  uint32_t rows = walk_classic(&w, st->r.b, (uint32_t)st->r.b->family_len);
  walkResult(s, &w, rows);
  replay_rows(&st->r, rows, info[3].As<Napi::Number>().Int32Value());
  if (!checkFailed(env, st)) return env.Undefined();
  return Napi::Number::New(env, rows);
}

/*
 * A mapping handed to V8 (external ArrayBuffer): its mapped length, the bytes V8 is told it holds, and,
 * for a quiet one (quietMapping), the telling that tells V8 of it (0: told at once).
 */
struct Mapping {
  size_t mapped;
  int64_t counted;
  uint64_t telling;
  bool huge; /* from huge_map, else sparse_map (huge.h): freed the same way (table_free) */
};

/*
 * Quiet mappings not told to V8 yet, per JavaScript thread (a mapping's finalizer runs on the thread that
 * made it): their bytes, and the tellings. A mapping of telling t is told once `told` reaches t.
 */
thread_local int64_t untold = 0;
thread_local uint64_t telling = 1, told = 0;
/* Beyond this much untold memory, a new quiet mapping tells the ones before it first. */
constexpr int64_t UNTOLD_LIMIT = int64_t(1) << 30;

void tellUntold(napi_env env) {
  int64_t total;
  if (untold != 0) napi_adjust_external_memory(env, untold, &total);
  untold = 0;
  told = telling++;
}

/*
 * V8 learns of the memory (napi_adjust_external_memory), so that a process replaying again and again
 * collects old tables: without it V8 saw only their small JS objects, kept them, and RSS grew by a
 * table per replay. Node runs this finalizer on the JavaScript thread, on a later event-loop turn.
 */
void unmapMapping(napi_env env, void *data, void *hint) {
  Mapping *m = static_cast<Mapping *>(hint);
  table_free(data, m->mapped, m->huge);
  int64_t total;
  if (m->telling <= told) napi_adjust_external_memory(env, -m->counted, &total);
  else untold -= m->counted;
  delete m;
}

/* `length` bytes at `p` (a mapping of `mapped` bytes) as an external ArrayBuffer that unmaps it; false if refused. */
bool externalMapping(napi_env env, void *p, size_t length, size_t mapped, bool huge, napi_value *buffer) {
  Mapping *m = new (std::nothrow) Mapping{mapped, (int64_t)length, 0, huge};
  if (!m || napi_create_external_arraybuffer(env, p, length, unmapMapping, m, buffer) != napi_ok) {
    delete m;
    return false;
  }
  int64_t total;
  napi_adjust_external_memory(env, m->counted, &total);
  return true;
}

/*
 * The same, quiet: V8 is not told of the memory until the next tellExternalMemory(), which replay() calls
 * as it returns. An ArrayBuffer from napi_create_external_arraybuffer is counted by V8 itself as it is made
 * (Node gives it a deleter), and a replay makes its tables as it starts: at the large tier that started a
 * marking of the whole heap ("external memory pressure", --trace-gc) whose concurrent part ran beside the
 * replay, on the core its second lane or prefault helper needed. So the buffer is V8's own ArrayBuffer
 * over the mapping with an empty deleter (not counted), and the mapping is unmapped by a finalizer on
 * the buffer object. Node-API has no such buffer: this is V8's API, and a napi_value is a V8 handle's
 * address, as in Node's own js_native_api_v8.h (JsValueFromV8LocalValue). Never transfer such a buffer
 * to another thread (postMessage): the finalizer of the object left behind would unmap the memory.
 */
bool quietMapping(napi_env env, void *p, size_t length, size_t mapped, bool huge, napi_value *buffer, int64_t counted) {
  if (untold > 0 && untold + counted > UNTOLD_LIMIT) tellUntold(env);
  Mapping *m = new (std::nothrow) Mapping{mapped, counted, telling, huge};
  if (!m) return false;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  v8::Local<v8::Value> ab = v8::ArrayBuffer::New(isolate, v8::ArrayBuffer::NewBackingStore(p, length, v8::BackingStore::EmptyDeleter, nullptr));
  *buffer = reinterpret_cast<napi_value>(*ab);
  if (napi_add_finalizer(env, *buffer, p, unmapMapping, m, nullptr) != napi_ok) {
    delete m; /* the ArrayBuffer, unreferenced, is collected without touching the mapping, which the caller unmaps */
    return false;
  }
  untold += m->counted;
  return true;
}

/*
 * takeConnections(replayHandle): the connection table itself, no copy: one ArrayBuffer per column
 * (CONNECTION_COLUMNS order), each `count` rows long, made of the table's own mapping (an external
 * ArrayBuffer, unmapped when V8 collects it). Copying it out measured a sixth of a replay, mostly the
 * kernel zeroing the fresh pages. The replay is over afterwards: its other tables are freed at once
 * (ReplayState::releaseTables) and its handle refused. Call it once, at the end.
 */
Napi::Value TakeConnections(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ReplayState *st = replayOf(info[0]);
  if (!st) return env.Undefined();
  st->stopPrefault();
  replay_flush(&st->r);
  Napi::Array out = Napi::Array::New(env, CONN_COLUMNS);
  size_t rows = st->conns.count; /* the views' length, and what V8 is told the table holds */
  for (int k = 0; k < CONN_COLUMNS; k++) {
    size_t mapped = 0;
    void *p = conns_take_column(&st->conns, k, &mapped);
    napi_value buffer;
    bool huge = conns_column_huge(k);
    if (!p || !externalMapping(env, p, rows * CONN_COLUMN_BYTES[k], mapped, huge, &buffer)) {
      table_free(p, mapped, huge);
      Napi::Error::New(env, "native takeConnections: the table was taken already, or external ArrayBuffers are not allowed here").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    out.Set(k, Napi::Value(env, buffer));
  }
  st->conns.count = 0;
  st->finish();
  return out;
}

/*
 * A zeroed ArrayBuffer of info[0] bytes over a fresh mapping (`map` gives it, `mapped` says its length),
 * unmapped when V8 collects it; `name` for errors.
 */
static Napi::Value mappedBuffer(const Napi::CallbackInfo &info, const char *name, void *(*map)(size_t), size_t (*mapped)(size_t),
                                bool sparse) {
  bool quiet = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  Napi::Env env = info.Env();
  double bytes = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(bytes >= 0 && bytes <= 64.0 * (1ull << 30))) {
    Napi::RangeError::New(env, std::string("native ") + name + ": bytes must be 0 to 64 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t length = (size_t)bytes, whole = mapped(length > 0 ? length : 1);
  void *p = map(length);
  napi_value buffer;
  /* A quiet sparse buffer is a reservation a replay writes a few scattered entries of (445 pages of the
     stress tier's 1.1 GB of eBPF hit counters): V8 is told nothing of it, lest telling 1.1 GB start the
     very marking quiet buffers avoid. */
  bool made = p && (quiet ? quietMapping(env, p, length, whole, !sparse, &buffer, sparse ? 0 : (int64_t)length)
                          : externalMapping(env, p, length, whole, !sparse, &buffer));
  if (!made) {
    table_free(p, whole, !sparse);
    Napi::Error::New(env, std::string("native ") + name + ": out of memory, or external ArrayBuffers are not allowed here").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Value(env, buffer);
}

/*
 * hugeBuffer(bytes, quiet?): a zeroed ArrayBuffer in huge pages (huge.h huge_map): memory for a big table
 * that is filled once allocated (the conntrack arrays), at one page fault per 2 MiB. `quiet`: V8 is told
 * of it only at the next tellExternalMemory(), and it must stay on this thread (quietMapping).
 */
Napi::Value HugeBuffer(const Napi::CallbackInfo &info) { return mappedBuffer(info, "hugeBuffer", huge_map, huge_round, false); }

/* sparseBuffer(bytes, quiet?): a zeroed ArrayBuffer in 4 KiB pages, never huge (huge.h sparse_map): for an array written sparsely. */
Napi::Value SparseBuffer(const Napi::CallbackInfo &info) { return mappedBuffer(info, "sparseBuffer", sparse_map, small_round, true); }

/* tellExternalMemory(): V8 told of every quiet buffer this thread has made so far (still held); returns their bytes. */
Napi::Value TellExternalMemory(const Napi::CallbackInfo &info) {
  int64_t bytes = untold;
  tellUntold(info.Env());
  return Napi::Number::New(info.Env(), (double)bytes);
}

/*
 * tablePool(release?: boolean): the table memory kept for reuse (table-pool.cc) and what was taken, as
 * {keptMappings, keptBytes, keptResident, reused, reusedBytes, fresh, freshBytes, clearedBytes}; with
 * `release`, the kept mappings are unmapped first (kept* then 0).
 */
Napi::Value TablePool(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) table_pool_release();
  table_pool_stats s = table_pool_stats_now();
  Napi::Object out = Napi::Object::New(env);
  out.Set("keptMappings", s.kept_mappings);
  out.Set("keptBytes", s.kept_bytes);
  out.Set("keptResident", s.kept_resident);
  out.Set("reused", s.reused);
  out.Set("reusedBytes", s.reused_bytes);
  out.Set("fresh", s.fresh);
  out.Set("freshBytes", s.fresh_bytes);
  out.Set("clearedBytes", s.cleared_bytes);
  return out;
}

/*
 * tablePlace(words: Uint32Array, keyWords, seed, hashMask: Uint32Array(keyWords), keys: Uint32Array,
 * values: Int32Array, count): OpenHashTable.insertBatch in C (ebpf.cc hash_table_place); the keys that
 * took an empty slot, or -1 when the table is full.
 */
Napi::Value TablePlace(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t key_words = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  double count = info[6].IsNumber() ? info[6].As<Napi::Number>().DoubleValue() : -1;
  uint32_t *words = arrayOf<uint32_t>(info[0], napi_uint32_array, BUCKET_WORDS);
  uint32_t *mask = arrayOf<uint32_t>(info[3], napi_uint32_array, key_words);
  bool sized = key_words >= 1 && key_words < BUCKET_WORDS && count >= 0 && count <= UINT32_MAX && count == (uint32_t)count;
  uint32_t *keys = sized ? arrayOf<uint32_t>(info[4], napi_uint32_array, (size_t)count * key_words) : nullptr;
  int32_t *values = sized ? arrayOf<int32_t>(info[5], napi_int32_array, (size_t)count) : nullptr;
  size_t words_len = words ? info[0].As<Napi::TypedArray>().ElementLength() : 0;
  bool buckets = words_len % BUCKET_WORDS == 0 && ((words_len / BUCKET_WORDS) & (words_len / BUCKET_WORDS - 1)) == 0;
  if (!words || !mask || !keys || !values || !info[2].IsNumber() || !buckets) {
    Napi::TypeError::New(env, "native tablePlace: words, keyWords, seed, hashMask, keys, values or count wrong").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (uint32_t i = 0; i < (uint32_t)count; i++) {
    if (values[i] < 0) {
      Napi::RangeError::New(env, "hash table values must be >= 0").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  int64_t added = hash_table_place(words, words_len, key_words, info[2].As<Napi::Number>().Uint32Value(), mask, keys, values,
                                   (uint32_t)count);
  return Napi::Number::New(env, (double)added);
}

}  // namespace

void registerReplay(Napi::Env env, Napi::Object exports) {
  exports.Set("bindReplay", Napi::Function::New(env, BindReplay));
  exports.Set("replayRows", Napi::Function::New(env, ReplayRows));
  exports.Set("walkReplay", Napi::Function::New(env, WalkReplay));
  exports.Set("takeConnections", Napi::Function::New(env, TakeConnections));
  exports.Set("hugeBuffer", Napi::Function::New(env, HugeBuffer));
  exports.Set("tellExternalMemory", Napi::Function::New(env, TellExternalMemory));
  exports.Set("sparseBuffer", Napi::Function::New(env, SparseBuffer));
  exports.Set("tablePlace", Napi::Function::New(env, TablePlace));
  exports.Set("tablePool", Napi::Function::New(env, TablePool));
  Napi::Array bytes = Napi::Array::New(env, CONN_COLUMNS);
  for (uint32_t k = 0; k < CONN_COLUMNS; k++) bytes.Set(k, Napi::Number::New(env, CONN_COLUMN_BYTES[k]));
  exports.Set("connectionColumnBytes", bytes);
}

}  // namespace netsieve_addon
