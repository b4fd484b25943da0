/*
 * The reference model's handle (hot.h ns_reference, reference.cc): its flow cache in C, and the
 * evaluator it asks, a JavaScript function called on the thread that called into the addon. Lanes on
 * other threads ask through that thread (desk.h).
 */
#include <string.h>
#include "bound.h"
#include "desk.h"

namespace netsieve_addon {

namespace {

/* The columns the evaluator reads of a flow (models.ts referenceModel verdictOf), row `i` of `from` to row 0 of `to`. */
void copyFlow(ns_batch *to, const ns_batch *from, uint32_t i) {
  to->family[0] = from->family[i];
  to->proto[0] = from->proto[i];
  to->srcPort[0] = from->srcPort[i];
  to->dstPort[0] = from->dstPort[i];
  memcpy(to->src, from->src + (size_t)i * 4, 16);
  memcpy(to->dst, from->dst + (size_t)i * 4, 16);
}

}  // namespace

/*
 * The bound evaluator's verdict for row `row` of `from`, on the JS thread: decide(row) reads the batch
 * being run, or with a question batch (lanes, whose batches are their own), decide(0) reads the row copied.
 */
int callDecide(Bound *b, const ns_batch *from, uint32_t row) {
  if (b->question) {
    copyFlow(b->question, from, row);
    row = 0;
  }
  Napi::Env env(b->env);
  Napi::HandleScope scope(env); /* a batch may ask thousands of times within one call from JS */
  Napi::Value v = b->decide.Call({Napi::Number::New(env, row)});
  if (env.IsExceptionPending() || !v.IsNumber()) return -1;
  return v.As<Napi::Number>().Int32Value();
}

bool referenceOk(Napi::Env env, const ns_reference *ref) {
  if (ref->failed == 0) return true;
  if (!env.IsExceptionPending()) {
    Napi::Error::New(env, ref->failed == 2 ? "native reference model: out of memory for its flow cache"
                                           : "native reference model: the evaluator answered no verdict").ThrowAsJavaScriptException();
  }
  return false;
}

namespace {

/* hot.h ns_reference decide, off lanes: the bound evaluator, on the calling thread. */
int decideRow(void *ctx, const ns_batch *from, uint32_t row) { return callDecide(static_cast<Bound *>(ctx), from, row); }

/*
 * bindReference(decide[, questionBatch]): the reference model's handle. decide(row) is the evaluator's
 * verdict (0 drop, 1 accept) for row `row` of the batch being run, called on this thread, once per flow
 * the handle has not yet kept. With a question batch (a lane's model: its rows are in the lane's own
 * batch, and its questions may come from other threads, desk.h), each flow is copied to the question
 * batch's row 0 and decide(0) is called.
 */
Napi::Value BindReference(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(env, "native bindReference(decide: (row) => verdict[, questionBatch])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Bound *q = nullptr;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    q = handleOf(info[1], GROUP_BATCH, "questionBatch");
    if (!q) return env.Undefined();
    if (q->batch.family_len < 1) {
      Napi::RangeError::New(env, "native bindReference: the question batch holds no row").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  Bound *b = new Bound();
  b->group = GROUP_REFERENCE;
  if (!reference_init(&b->ref)) {
    delete b;
    Napi::Error::New(env, "native reference model: out of memory for its flow cache").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  b->ref.decide = decideRow;
  b->ref.ctx = b;
  b->env = env;
  b->decide = Napi::Persistent(info[0].As<Napi::Function>());
  b->question = q ? &q->batch : nullptr;
  Napi::Object keep = Napi::Object::New(env);
  if (q) keep.Set("question", info[1]);
  return makeHandle(env, b, keep);
}

}  // namespace

void registerReference(Napi::Env env, Napi::Object exports) {
  exports.Set("bindReference", Napi::Function::New(env, BindReference));
}

}  // namespace netsieve_addon
