/*
 * The Node-API surface, kept thin (design habit 10): bind a group of typed arrays once (checked against
 * layout.h), then one call per batch runs a hot loop over every row. Validation of the tables' contents
 * is TypeScript's; this file only checks what would otherwise let C read outside an array.
 */
#include <napi.h>
#include <new>
#include "bound.h"

namespace netsieve_addon {

struct FieldInfo { const char *name; int elem; };
#define NS_INFO(name, type) {#name, ELEM_##type},
const FieldInfo BATCH_INFO[] = {NS_BATCH_FIELDS(NS_INFO)};
const FieldInfo EBPF_INFO[] = {NS_EBPF_FIELDS(NS_INFO)};
const FieldInfo IPT_FAMILY_INFO[] = {NS_IPT_FAMILY_FIELDS(NS_INFO)};
const FieldInfo IPT_SETS_INFO[] = {NS_IPT_SETS_FIELDS(NS_INFO)};
const FieldInfo CONNTRACK_INFO[] = {NS_CONNTRACK_FIELDS(NS_INFO)};
const FieldInfo NAT_INFO[] = {NS_NAT_FIELDS(NS_INFO)};
#undef NS_INFO

int elemOf(napi_typedarray_type t) {
  switch (t) {
    case napi_uint8_array: return ELEM_U8;
    case napi_uint16_array: return ELEM_U16;
    case napi_uint32_array: return ELEM_U32;
    case napi_int16_array: return ELEM_I16;
    case napi_int32_array: return ELEM_I32;
    case napi_float64_array: return ELEM_F64;
    default: return 0;
  }
}

/* The typed array at arrays[k], checked against the compiled-in field; null (with a JS error) if wrong. */
void *fieldData(Napi::Env env, Napi::Array arrays, uint32_t k, const FieldInfo &info, size_t *len) {
  Napi::Value v = arrays.Get(k);
  if (!v.IsTypedArray()) {
    Napi::TypeError::New(env, std::string("native bind: field ") + info.name + " is not a typed array").ThrowAsJavaScriptException();
    return nullptr;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (elemOf(ta.TypedArrayType()) != info.elem) {
    Napi::TypeError::New(env, std::string("native bind: field ") + info.name + " has the wrong element type (layout drift)").ThrowAsJavaScriptException();
    return nullptr;
  }
  *len = ta.ElementLength();
  /* Through napi_get_typedarray_info, which also takes a view of a SharedArrayBuffer, where the C++
     wrapper's ArrayBuffer() refuses one. */
  void *data = nullptr;
  if (napi_get_typedarray_info(env, ta, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) {
    Napi::TypeError::New(env, std::string("native bind: field ") + info.name + " has no data").ThrowAsJavaScriptException();
    return nullptr;
  }
  return data;
}

#define NS_FILL(name, type) \
  if (ok) { \
    s->name = static_cast<ns_##type *>(fieldData(env, arrays, k, info[k], &s->name##_len)); \
    ok = !env.IsExceptionPending(); \
    k++; \
  }

template <typename S> bool fillBatch(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_BATCH_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
template <typename S> bool fillEbpf(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_EBPF_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
template <typename S> bool fillFamily(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_IPT_FAMILY_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
template <typename S> bool fillSets(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_IPT_SETS_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
template <typename S> bool fillConntrack(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_CONNTRACK_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
template <typename S> bool fillNat(Napi::Env env, Napi::Array arrays, S *s, const FieldInfo *info) {
  uint32_t k = 0; bool ok = true; NS_NAT_FIELDS(NS_FILL) return ok && !env.IsExceptionPending();
}
#undef NS_FILL

/* The Bound of a handle: makeHandle's wrapped object, or ownedHandle's external (bound.h); else null. */
Bound *boundOf(Napi::Value v) {
  if (v.IsExternal()) return v.As<Napi::External<Bound>>().Data();
  void *data = nullptr;
  if (!v.IsObject() || napi_unwrap(v.Env(), v, &data) != napi_ok) return nullptr;
  return static_cast<Bound *>(data);
}

Bound *handleOf(Napi::Value v, int group, const char *what) {
  Bound *b = boundOf(v);
  if (!b) {
    Napi::TypeError::New(v.Env(), std::string("native: ") + what + " is not a bound handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  if (b->group != group) {
    Napi::TypeError::New(v.Env(), std::string("native: ") + what + " is a handle of another group").ThrowAsJavaScriptException();
    return nullptr;
  }
  return b;
}

/*
 * Not an external whose finalizer lets go of a persistent reference to the arrays: Node runs finalizers on a
 * later turn of the event loop, so the arrays of every handle dropped in a synchronous loop stayed until the
 * loop returned (4 GB after 300 rounds of the native differential test, which the kernel then killed at 24
 * GB with more). Held by a property, they go with the handle; only the Bound itself waits for the finalizer.
 */
Napi::Value makeHandle(Napi::Env env, Bound *b, Napi::Object keep) {
  Napi::Object handle = Napi::Object::New(env);
  handle.DefineProperty(Napi::PropertyDescriptor::Value("bound", keep, napi_default));
  napi_status wrapped = napi_wrap(env, handle, b, [](napi_env, void *data, void *) { delete static_cast<Bound *>(data); }, nullptr, nullptr);
  if (wrapped != napi_ok) {
    delete b;
    if (!env.IsExceptionPending()) Napi::Error::New(env, "native bind: the handle could not be made").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return handle;
}

/*
 * After the arrays are filled: the group's own checks, and the rows the addon builds from the arrays (the
 * eBPF records, the iptables rule checks). Returns what is wrong, or "": each cause says itself, out of
 * memory included.
 */
std::string finishBind(Bound *b) {
  switch (b->group) {
    case GROUP_EBPF: {
      if (b->ebpf.params_len < EBPF_PARAM_COUNT || b->ebpf.probes_len < 3) return "eBPF params or probes shorter than layout.h's (layout drift?)";
      int packed = ebpf_pack(&b->ebpf);
      if (packed == EBPF_PACK_SHORT) return "eBPF ipcache or endpoint arrays shorter than their counts (layout drift?)";
      if (packed == EBPF_PACK_NO_MEMORY) {
        return "out of memory packing the eBPF lookup records (" + std::to_string(b->ebpf.ipcEndpoint_len) + " ipcache entries, " +
               std::to_string(b->ebpf.epFlags_len) + " endpoints)";
      }
      return "";
    }
    case GROUP_IPT_FAMILY: {
      if (b->family.params_len < IPT_PARAM_COUNT) return "iptables params shorter than layout.h's (layout drift?)";
      b->checks = new (std::nothrow) uint8_t[b->family.target_len > 0 ? b->family.target_len : 1];
      if (!b->checks) return "out of memory for the iptables rule checks (" + std::to_string(b->family.target_len) + " rules)";
      iptables_rule_checks(&b->family, b->checks);
      return "";
    }
    case GROUP_CONNTRACK:
      if (b->ct.params_len < CT_PARAM_COUNT || b->ct.timeouts_len < TO_COUNT || b->ct.meta_len <= META_FRESH) {
        return "conntrack params, timeouts or meta shorter than layout.h's (layout drift?)";
      }
      return "";
    case GROUP_NAT:
      if (!natFits(&b->nat)) return "NAT tables shorter than their params say";
      if (b->nat.params[NAT_PARAM_COUNT] > 0) {
        b->nat.vips = new (std::nothrow) ns_vip_filter;
        if (!b->nat.vips) return "out of memory for the Service address filter";
        vip_filter_build(&b->nat, b->nat.vips);
      }
      return "";
    default: return "";
  }
}

/* bind(group, arrays): checks every array against layout.h and returns a handle. */
Napi::Value Bind(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "native bind(group, arrays)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int group = info[0].As<Napi::Number>().Int32Value();
  Napi::Array arrays = info[1].As<Napi::Array>();
  size_t want = group == GROUP_BATCH ? sizeof BATCH_INFO / sizeof *BATCH_INFO
              : group == GROUP_EBPF ? sizeof EBPF_INFO / sizeof *EBPF_INFO
              : group == GROUP_IPT_FAMILY ? sizeof IPT_FAMILY_INFO / sizeof *IPT_FAMILY_INFO
              : group == GROUP_IPT_SETS ? sizeof IPT_SETS_INFO / sizeof *IPT_SETS_INFO
              : group == GROUP_CONNTRACK ? sizeof CONNTRACK_INFO / sizeof *CONNTRACK_INFO
              : group == GROUP_NAT ? sizeof NAT_INFO / sizeof *NAT_INFO : 0;
  if (want == 0 || arrays.Length() != want) {
    Napi::TypeError::New(env, "native bind: group " + std::to_string(group) + " wants " + std::to_string(want) +
                         " arrays, got " + std::to_string(arrays.Length()) + " (layout drift?)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Bound *b = new Bound();
  b->group = group;
  bool ok = group == GROUP_BATCH ? fillBatch(env, arrays, &b->batch, BATCH_INFO)
          : group == GROUP_EBPF ? fillEbpf(env, arrays, &b->ebpf, EBPF_INFO)
          : group == GROUP_IPT_FAMILY ? fillFamily(env, arrays, &b->family, IPT_FAMILY_INFO)
          : group == GROUP_IPT_SETS ? fillSets(env, arrays, &b->sets, IPT_SETS_INFO)
          : group == GROUP_CONNTRACK ? fillConntrack(env, arrays, &b->ct, CONNTRACK_INFO)
          : fillNat(env, arrays, &b->nat, NAT_INFO);
  std::string problem = ok ? finishBind(b) : std::string();
  if (!ok || !problem.empty()) {
    delete b;
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "native bind: " + (problem.empty() ? "arrays refused" : problem)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return makeHandle(env, b, arrays);
}

/*
 * bindIptables(v4, v6, sets, slots, cached): the model handle of the iptables matcher, with a walk cache of
 * `slots` (0 or a power of two; decision-cache.h ns_walk_memo) that counts the walks it decides into
 * cached[0] (a Float64Array).
 */
Napi::Value BindIptables(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Bound *v4 = handleOf(info[0], GROUP_IPT_FAMILY, "v4");
  Bound *v6 = v4 ? handleOf(info[1], GROUP_IPT_FAMILY, "v6") : nullptr;
  Bound *sets = v6 ? handleOf(info[2], GROUP_IPT_SETS, "sets") : nullptr;
  if (!sets) return env.Undefined();
  uint32_t slots = info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
  size_t cached_len = 0;
  double *cached = viewOf<double>(env, info[4], napi_float64_array, &cached_len);
  if ((slots & (slots - 1)) != 0 || slots > (1u << 24) || !cached || cached_len < 1) {
    Napi::TypeError::New(env, "bindIptables: slots must be 0 or a power of two up to 2^24, and cached a Float64Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ns_walk_memo *memo = slots > 0 ? new (std::nothrow) ns_walk_memo[slots]() : nullptr;
  if (slots > 0 && !memo) {
    Napi::Error::New(env, "bindIptables: out of memory for the walk cache (" + std::to_string(slots) + " slots)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t depth = v4->family.params[IPT_PARAM_DEPTH];
  if (v6->family.params[IPT_PARAM_DEPTH] > depth) depth = v6->family.params[IPT_PARAM_DEPTH];
  Bound *b = new Bound();
  b->group = GROUP_IPTABLES;
  b->stack = new int32_t[2 * (size_t)(depth > 0 ? depth : 1)];
  b->ipt = ns_iptables{&v4->family, &v6->family, v4->checks, v6->checks, &sets->sets, b->stack, b->stack + (depth > 0 ? depth : 1), depth,
                       iptables_v4_narrow(&v4->family), memo, slots > 0 ? slots - 1 : 0, cached};
  Napi::Array keep = Napi::Array::New(env, 4);
  keep.Set(0u, info[0]);
  keep.Set(1u, info[1]);
  keep.Set(2u, info[2]);
  keep.Set(3u, info[4]);
  return makeHandle(env, b, keep);
}

Bound *modelHandle(Napi::Value model, Napi::Value handle) {
  int m = model.As<Napi::Number>().Int32Value();
  int group = m == MODEL_EBPF ? (int)GROUP_EBPF : m == MODEL_REFERENCE ? (int)GROUP_REFERENCE : (int)GROUP_IPTABLES;
  return handleOf(handle, group, "model");
}

/* classify(model, modelHandle, batchHandle, count): rows whose ctState is already set. */
Napi::Value Classify(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int model = info[0].As<Napi::Number>().Int32Value();
  Bound *m = modelHandle(info[0], info[1]);
  Bound *b = m ? handleOf(info[2], GROUP_BATCH, "batch") : nullptr;
  if (!b) return env.Undefined();
  uint32_t count = info[3].As<Napi::Number>().Uint32Value();
  if (count > b->batch.family_len) count = (uint32_t)b->batch.family_len;
  if (model == MODEL_EBPF) for (uint32_t i = 0; i < count; i++) ebpf_classify_row(&m->ebpf, &b->batch, i);
  else if (model == MODEL_IPTABLES) for (uint32_t i = 0; i < count; i++) iptables_classify_row(&m->ipt, &b->batch, i);
  else for (uint32_t i = 0; i < count; i++) reference_classify_row(&m->ref, &b->batch, i);
  referenceOk(env, &m->ref);
  return env.Undefined();
}

/*
 * run(model, modelHandle, ctHandle, batchHandle, count): per row, in capture order, conntrack track ->
 * the model (later fragments follow their first) -> confirm, as src/replay/models.ts runRow does.
 * Returns the later fragments dropped for want of a first.
 */
Napi::Value Run(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int model = info[0].As<Napi::Number>().Int32Value();
  Bound *m = modelHandle(info[0], info[1]);
  Bound *c = m ? handleOf(info[2], GROUP_CONNTRACK, "conntrack") : nullptr;
  Bound *bb = c ? handleOf(info[3], GROUP_BATCH, "batch") : nullptr;
  if (!bb) return env.Undefined();
  uint32_t count = info[4].As<Napi::Number>().Uint32Value();
  if (count > bb->batch.family_len) count = (uint32_t)bb->batch.family_len;
  if (count > c->ct.pending_len || count > c->ct.fragmentVerdict_len) {
    Napi::RangeError::New(env, "native run: conntrack row scratch smaller than the batch").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ns_model mm = modelOf(m);
  uint32_t orphans = 0;
  for (uint32_t i = 0; i < count; i++) orphans += run_row(model, &mm, &c->ct, &bb->batch, i);
  if (!referenceOk(env, &m->ref)) return env.Undefined();
  return Napi::Number::New(env, orphans);
}

/*
 * decode(chunk, batchHandle, count): rows [0, count) decoded from their records in `chunk` (a reader's
 * chunk, opened with decode: false). A row whose record lies outside the chunk is left undecoded
 * (family 0, MALFORMED): it cannot come from the reader, and C must not read past the chunk.
 */
Napi::Value Decode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "native decode: chunk is not a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  Bound *bb = handleOf(info[1], GROUP_BATCH, "batch");
  if (!bb) return env.Undefined();
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  ns_batch *b = &bb->batch;
  if (count > b->family_len) count = (uint32_t)b->family_len;
  const uint8_t *bytes = chunk.Data();
  size_t len = chunk.ElementLength();
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)b->dataOffset[i] + b->capturedLength[i] > len) {
      b->family[i] = 0;
      b->flags[i] = ROW_MALFORMED;
      continue;
    }
    decode_row(bytes, b, i);
  }
  return env.Undefined();
}

/* The walk state array (WALK_* slots) and the chunk, checked so that C never reads outside the chunk. */
bool walkArgs(Napi::Env env, Napi::Value chunkV, Napi::Value stateV, ns_walk *w, double **state) {
  if (!chunkV.IsTypedArray() || chunkV.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !stateV.IsTypedArray() || stateV.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      stateV.As<Napi::Float64Array>().ElementLength() < WALK_COUNT) {
    Napi::TypeError::New(env, "native walk: (Uint8Array chunk, Float64Array state of WALK_COUNT slots)").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array chunk = chunkV.As<Napi::Uint8Array>();
  double *s = stateV.As<Napi::Float64Array>().Data();
  double pos = s[WALK_POS], end = s[WALK_END];
  if (!(pos >= 0 && pos <= end && end <= (double)chunk.ElementLength() && end <= 4294967295.0)) {
    Napi::RangeError::New(env, "native walk: position or end outside the chunk").ThrowAsJavaScriptException();
    return false;
  }
  *w = ns_walk{chunk.Data(), (uint32_t)pos, (uint32_t)end, s[WALK_LE] != 0, s[WALK_NANO] != 0 ? 1u : 1000u,
               (uint32_t)s[WALK_LINK_TYPE], (uint32_t)s[WALK_LIMIT], s[WALK_FIRST], s[WALK_DECODE] != 0,
               s[WALK_PREFETCH] > 0 && s[WALK_PREFETCH] < 64 ? (uint32_t)s[WALK_PREFETCH] : 0u, -1};
  *state = s;
  return true;
}

void walkResult(double *s, const ns_walk *w, uint32_t rows) {
  s[WALK_POS] = w->pos;
  s[WALK_ROWS] = rows;
  s[WALK_BAD_CAPLEN] = (double)w->bad_caplen;
}

/* walk(chunk, batchHandle, state): rows from whole classic pcap records of the chunk (walk.cc). */
Napi::Value Walk(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ns_walk w;
  double *s;
  Bound *bb = handleOf(info[1], GROUP_BATCH, "batch");
  if (!bb || !walkArgs(env, info[0], info[2], &w, &s)) return env.Undefined();
  uint32_t rows = walk_classic(&w, &bb->batch, (uint32_t)bb->batch.family_len);
  walkResult(s, &w, rows);
  return Napi::Number::New(env, rows);
}

/*
 * walkRun(model, modelHandle, ctHandle, chunk, batchHandle, state): the walk, each row decoded and run
 * as run() runs it, in one call. state[WALK_ORPHANS] gets this call's later fragments without a first.
 */
Napi::Value WalkRun(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int model = info[0].As<Napi::Number>().Int32Value();
  Bound *m = modelHandle(info[0], info[1]);
  Bound *c = m ? handleOf(info[2], GROUP_CONNTRACK, "conntrack") : nullptr;
  Bound *bb = c ? handleOf(info[4], GROUP_BATCH, "batch") : nullptr;
  ns_walk w;
  double *s;
  if (!bb || !walkArgs(env, info[3], info[5], &w, &s)) return env.Undefined();
  uint32_t cap = (uint32_t)bb->batch.family_len;
  if (cap > c->ct.pending_len || cap > c->ct.fragmentVerdict_len) {
    Napi::RangeError::New(env, "native walkRun: conntrack row scratch smaller than the batch").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ns_model mm = modelOf(m);
  uint32_t orphans = 0;
  uint32_t rows = walk_run(&w, &bb->batch, cap, model, &mm, &c->ct, &orphans);
  walkResult(s, &w, rows);
  s[WALK_ORPHANS] = orphans;
  if (!referenceOk(env, &m->ref)) return env.Undefined();
  return Napi::Number::New(env, rows);
}

Napi::Array infoList(Napi::Env env, const FieldInfo *list, size_t n) {
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t k = 0; k < n; k++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, list[k].name));
    pair.Set(1u, Napi::Number::New(env, list[k].elem));
    out.Set((uint32_t)k, pair);
  }
  return out;
}

#define NS_LIST(arr) infoList(env, arr, sizeof arr / sizeof *arr)
#define NS_CONST(name) constants.Set(#name, Napi::Number::New(env, (double)(name)));

/* layout(): the compiled-in lists and constants, for the drift test. */
Napi::Value Layout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object groups = Napi::Object::New(env);
  groups.Set((uint32_t)GROUP_BATCH, NS_LIST(BATCH_INFO));
  groups.Set((uint32_t)GROUP_EBPF, NS_LIST(EBPF_INFO));
  groups.Set((uint32_t)GROUP_IPT_FAMILY, NS_LIST(IPT_FAMILY_INFO));
  groups.Set((uint32_t)GROUP_IPT_SETS, NS_LIST(IPT_SETS_INFO));
  groups.Set((uint32_t)GROUP_CONNTRACK, NS_LIST(CONNTRACK_INFO));
  groups.Set((uint32_t)GROUP_NAT, NS_LIST(NAT_INFO));
  Napi::Object constants = Napi::Object::New(env);
  NS_CONST(ELEM_U8) NS_CONST(ELEM_U16) NS_CONST(ELEM_U32) NS_CONST(ELEM_I16) NS_CONST(ELEM_I32) NS_CONST(ELEM_F64)
  NS_CONST(GROUP_BATCH) NS_CONST(GROUP_EBPF) NS_CONST(GROUP_IPT_FAMILY) NS_CONST(GROUP_IPT_SETS) NS_CONST(GROUP_CONNTRACK) NS_CONST(GROUP_NAT)
  NS_CONST(NAT_PARAM_MASK) NS_CONST(NAT_PARAM_COUNT) NS_CONST(NAT_PARAM_SLOTS)
  NS_CONST(RS_PACKETS) NS_CONST(RS_IP) NS_CONST(RS_NON_IP) NS_CONST(RS_MALFORMED) NS_CONST(RS_ACCEPTED) NS_CONST(RS_DROPPED)
  NS_CONST(RS_ORPHANS) NS_CONST(RS_LATER_FRAGMENTS) NS_CONST(RS_ICMP_ERRORS) NS_CONST(RS_CONNECTIONS) NS_CONST(RS_OVERFLOW) NS_CONST(RS_PREFAULTED) NS_CONST(RS_COUNT)
  NS_CONST(PREFAULT_ON) NS_CONST(PREFAULT_SETTLE)
  NS_CONST(EBPF_PARAM_IPC_SEED) NS_CONST(EBPF_PARAM_POLICY_SEED) NS_CONST(EBPF_PARAM_ALLOW_LOOPBACK)
  NS_CONST(EBPF_PARAM_ALLOW_NODE_TRAFFIC) NS_CONST(EBPF_PARAM_HAS_HOST6)
  NS_CONST(EBPF_PARAM_POD_BASE) NS_CONST(EBPF_PARAM_POD_SIZE) NS_CONST(EBPF_PARAM_SHARED_HITS) NS_CONST(EBPF_PARAM_HAS_DENY) NS_CONST(EBPF_PARAM_COUNT) NS_CONST(IPT_PARAM_ENTRY) NS_CONST(IPT_PARAM_DEPTH)
  NS_CONST(IPT_PARAM_COUNT) NS_CONST(CT_PARAM_TABLE_MASK) NS_CONST(CT_PARAM_FRAG_MASK) NS_CONST(CT_PARAM_COUNT)
  NS_CONST(TO_TCP) NS_CONST(TO_TCP_UNACKNOWLEDGED) NS_CONST(TO_UDP_UNREPLIED) NS_CONST(TO_UDP_REPLIED)
  NS_CONST(TO_UDP_STREAM_AFTER) NS_CONST(TO_ICMP) NS_CONST(TO_ICMPV6) NS_CONST(TO_GENERIC) NS_CONST(TO_SCTP_COOKIE_WAIT)
  NS_CONST(TO_SCTP_ESTABLISHED) NS_CONST(TO_FRAGMENT) NS_CONST(TO_GRE_UNREPLIED) NS_CONST(TO_GRE_REPLIED) NS_CONST(TO_COUNT) NS_CONST(MODEL_EBPF) NS_CONST(MODEL_IPTABLES)
  NS_CONST(VERDICT_DROP) NS_CONST(VERDICT_ACCEPT) NS_CONST(VERDICT_NONE)
  NS_CONST(CT_NEW) NS_CONST(CT_ESTABLISHED) NS_CONST(CT_RELATED) NS_CONST(CT_INVALID) NS_CONST(CT_UNTRACKED)
  NS_CONST(ROW_FIRST_FRAGMENT) NS_CONST(ROW_LATER_FRAGMENT) NS_CONST(ROW_ICMP_ERROR) NS_CONST(ROW_ICMP_ECHO) NS_CONST(ROW_MALFORMED)
  NS_CONST(POLICY_KEY_WORDS) NS_CONST(IPCACHE_KEY_WORDS) NS_CONST(DIR_INGRESS) NS_CONST(DIR_EGRESS) NS_CONST(PLEN_ANY)
  NS_CONST(PLEN_PROTO) NS_CONST(PLEN_FULL) NS_CONST(IDENTITY_ANY) NS_CONST(IDENTITY_HOST) NS_CONST(EP_INGRESS_ISOLATED)
  NS_CONST(EP_EGRESS_ISOLATED) NS_CONST(BUCKET_WORDS)
  NS_CONST(TARGET_NONE) NS_CONST(TARGET_ACCEPT) NS_CONST(TARGET_DROP) NS_CONST(TARGET_RETURN) NS_CONST(TARGET_JUMP)
  NS_CONST(TARGET_GOTO) NS_CONST(TARGET_MARK) NS_CONST(ACCEPT_MARK) NS_CONST(SET_IP) NS_CONST(SET_NET) NS_CONST(SET_IPPORT)
  NS_CONST(TUPLE_WORDS) NS_CONST(META_HEAD) NS_CONST(META_TAIL) NS_CONST(META_FREE_TOP) NS_CONST(META_COUNT) NS_CONST(META_FRESH)
  NS_CONST(STATUS_SEEN_REPLY) NS_CONST(STATUS_ASSURED) NS_CONST(STATUS_CLOSE_INIT)
  NS_CONST(COUNTER_INSERTS) NS_CONST(COUNTER_EVICTIONS) NS_CONST(COUNTER_EXPIRATIONS) NS_CONST(COUNTER_INVALID)
  NS_CONST(COUNTER_DELETES) NS_CONST(COUNTER_ORPHAN_FRAGMENTS) NS_CONST(COUNTER_RELATED) NS_CONST(COUNTER_CLASHES)
  NS_CONST(TCP_NONE) NS_CONST(TCP_SYN_SENT) NS_CONST(TCP_SYN_RECV) NS_CONST(TCP_ESTABLISHED) NS_CONST(TCP_FIN_WAIT)
  NS_CONST(TCP_CLOSE_WAIT) NS_CONST(TCP_LAST_ACK) NS_CONST(TCP_TIME_WAIT) NS_CONST(TCP_CLOSE) NS_CONST(TCP_SYN_SENT2)
  NS_CONST(TCP_IGNORE) NS_CONST(TCP_INVALID) NS_CONST(TCPI_SYN) NS_CONST(TCPI_SYNACK) NS_CONST(TCPI_FIN) NS_CONST(TCPI_ACK)
  NS_CONST(TCPI_RST) NS_CONST(TCPI_NONE) NS_CONST(SCTP_COOKIE_WAIT) NS_CONST(SCTP_ESTABLISHED) NS_CONST(FRAGMENT_WITHOUT_FIRST)
  NS_CONST(EARLY_DROP_SCAN)
  NS_CONST(WALK_POS) NS_CONST(WALK_END) NS_CONST(WALK_LE) NS_CONST(WALK_NANO) NS_CONST(WALK_LINK_TYPE) NS_CONST(WALK_LIMIT)
  NS_CONST(WALK_FIRST) NS_CONST(WALK_DECODE) NS_CONST(WALK_ROWS) NS_CONST(WALK_BAD_CAPLEN) NS_CONST(WALK_ORPHANS) NS_CONST(WALK_PREFETCH) NS_CONST(WALK_COUNT)
  Napi::Object out = Napi::Object::New(env);
  out.Set("groups", groups);
  out.Set("constants", constants);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("bind", Napi::Function::New(env, Bind));
  exports.Set("bindIptables", Napi::Function::New(env, BindIptables));
  exports.Set("classify", Napi::Function::New(env, Classify));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("decode", Napi::Function::New(env, Decode));
  exports.Set("walk", Napi::Function::New(env, Walk));
  exports.Set("walkRun", Napi::Function::New(env, WalkRun));
  registerReference(env, exports);
  registerReplay(env, exports);
  registerLanes(env, exports);
  registerCalibrate(env, exports);
  return exports;
}

}  // namespace netsieve_addon

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return netsieve_addon::Init(env, exports); }

NODE_API_MODULE(netsieve, InitAddon)
