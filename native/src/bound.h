/* The addon's handle of bound typed arrays (addon.cc), shared with the replay entry points (addon-replay.cc). */
#ifndef NETSIEVE_BOUND_H
#define NETSIEVE_BOUND_H
#include <napi.h>
#include <memory>
#include <stdlib.h>
#include "replay.h"
#include "huge.h"
#include "prefault.h"

namespace netsieve_addon {

enum { GROUP_IPTABLES = 100, GROUP_REPLAY = 101, GROUP_LANES = 102, GROUP_REFERENCE = 103 };

struct Desk; /* desk.h */

struct Bound {
  int group = 0;
  ns_batch batch{};
  ns_ebpf ebpf{};
  ns_ipt_family family{};
  ns_ipt_sets sets{};
  ns_conntrack ct{};
  ns_nat nat{};
  ns_iptables ipt{};
  /* The reference model's flow cache, and the evaluator it asks (addon-reference.cc bindReference), on `env`'s thread. */
  ns_reference ref{};
  Napi::FunctionReference decide;
  napi_env env = nullptr;
  /* For lanes: the one-row batch whose row 0 `decide` reads (each question copied there), and the desk. */
  ns_batch *question = nullptr;
  std::shared_ptr<Desk> desk;
  int32_t *stack = nullptr;
  uint8_t *checks = nullptr; /* an iptables family's: iptables_rule_checks */
  ~Bound() {
    if (group == GROUP_EBPF) ebpf_unpack(&ebpf);
    if (group == GROUP_IPTABLES) delete[] ipt.memo;
    delete nat.vips;
    delete[] stack;
    delete[] checks;
    reference_free(&ref);
  }
};

/* The handle's Bound if `v` is a handle of `group`; else null with a JS TypeError naming `what`. */
Bound *handleOf(Napi::Value v, int group, const char *what);
/* The model handle of model code `model` (MODEL_EBPF, MODEL_IPTABLES or MODEL_REFERENCE). */
Bound *modelHandle(Napi::Value model, Napi::Value handle);
/* The model's tables as the hot loops take them. */
inline ns_model modelOf(Bound *m) { return ns_model{&m->ebpf, &m->ipt, &m->ref}; }
/*
 * After a run of the reference model: false, with a JS error pending, when its evaluator threw or
 * answered no verdict (its error is the one pending), or its cache ran out of memory.
 */
bool referenceOk(Napi::Env env, const ns_reference *ref);
/* The walk state and chunk of a walk call, checked (walk.cc never reads outside the chunk). */
bool walkArgs(Napi::Env env, Napi::Value chunkV, Napi::Value stateV, ns_walk *w, double **state);
void walkResult(double *s, const ns_walk *w, uint32_t rows);
/* A NAT group's tables are consistent enough for C to index them without reading outside an array. */
bool natFits(const ns_nat *n);
/*
 * A typed array's data and element count if it is of `type`, else null. Through napi_get_typedarray_info,
 * which also takes a view of a SharedArrayBuffer (the C++ wrapper's ArrayBuffer() refuses a shared one).
 */
template <typename T> T *viewOf(Napi::Env env, Napi::Value v, napi_typedarray_type type, size_t *length) {
  napi_typedarray_type actual;
  void *data = nullptr;
  if (!v.IsTypedArray() || napi_get_typedarray_info(env, v, &actual, length, &data, nullptr, nullptr) != napi_ok || actual != type) return nullptr;
  return static_cast<T *>(data);
}
/* A replay handle's state (addon-replay.cc bindReplay): its replay, its connection table and entry tallies. */
struct ReplayState {
  ns_replay r{};
  ns_conns conns{};
  ns_tally *tally = nullptr; /* huge.h memory of tally_bytes */
  size_t tally_bytes = 0;
  /* As a lane (addon-lanes.cc): its own batch of its shard's rows and their Services, in `own_memory`. */
  ns_batch own{};
  uint8_t *own_memory = nullptr; /* huge.h memory of own_bytes */
  size_t own_bytes = 0;
  Napi::ObjectReference keep;
  /* The prefault helper (prefault.h) of a one-thread replay that asked for it: stopped before any table is freed or taken. */
  void stopPrefault() {
    r.stats[RS_PREFAULTED] += prefault_stop(r.prefault);
    r.prefault = nullptr;
  }
  /*
   * Set once its connection table is taken (takeConnections): the replay is over, its tables are freed
   * (releaseTables) and its handle refused (replayOf).
   */
  bool finished = false;
  /*
   * The tables back to the table pool (huge.h) now, not when V8 collects the handle: a lane's handle is
   * collected only in the collection after its lanes' handle (which holds it), so the next replay in the
   * process took fresh memory for them (native/README.md "Table memory"). Idempotent.
   */
  void releaseTables() {
    conns_free(&conns);
    huge_free(tally, tally_bytes);
    tally = nullptr;
    huge_free(own_memory, own_bytes);
    own_memory = nullptr;
  }
  /*
   * The replay is over (takeConnections; a lane's, mergeLanes): its tables freed, its handle refused, and
   * what it bound (the tracker's handle, and through it the tracker's arrays) V8's to collect now: held,
   * it outlived the replay handle by a collection, and the tracker's memory by two. On the JS thread.
   */
  void finish() {
    releaseTables();
    finished = true;
    keep.Reset();
  }
  ~ReplayState() {
    prefault_stop(r.prefault);
    releaseTables();
  }
};
/*
 * A handle of `group` that owns `state` (a replay's, the lanes'): V8's finalizer deletes it with the handle.
 * The state rides in Bound::stack, which ~Bound would otherwise free as an array.
 */
template <typename T> Napi::Value ownedHandle(Napi::Env env, int group, T *state) {
  Bound *b = new Bound();
  b->group = group;
  b->stack = reinterpret_cast<int32_t *>(state);
  return Napi::External<Bound>::New(env, b, [](Napi::Env, Bound *p) {
    delete reinterpret_cast<T *>(p->stack);
    p->stack = nullptr;
    delete p;
  });
}
/* The replay state of a replay handle; else null with a JS TypeError. */
ReplayState *replayOf(Napi::Value v);
/* False, with a JS error thrown, when the replay's connection table ran out of memory. */
bool checkFailed(Napi::Env env, ReplayState *st);
/*
 * A handle owning `b` (freed by V8's finalizer) whose property `bound` holds `keep`, what it binds (addon.cc):
 * an ordinary reference, so that the arrays go in the same collection as the handle.
 */
Napi::Value makeHandle(Napi::Env env, Bound *b, Napi::Object keep);
/* bindReference (addon-reference.cc). */
void registerReference(Napi::Env env, Napi::Object exports);
/* bindReplay, replayRows, walkReplay, takeConnections, hugeBuffer (addon-replay.cc). */
void registerReplay(Napi::Env env, Napi::Object exports);
/* bindLanes, walkLanes, replayRowsLanes (addon-lanes.cc). */
void registerLanes(Napi::Env env, Napi::Object exports);
/* calibrate.cc: what a second thread can add on this machine (bench/tier-model.ts machineThreads2). */
void registerCalibrate(Napi::Env env, Napi::Object exports);

}  // namespace netsieve_addon
#endif
