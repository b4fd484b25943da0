/* desk.h: questions from the lanes' threads to the JS thread, for the reference model's evaluator. */
#include "desk.h"

namespace netsieve_addon {

bool deskServe(Desk *d) {
  if (!deskWaiting(d) || std::this_thread::get_id() != d->js_thread) return false;
  d->answer = callDecide(d->asker, d->from, d->row);
  __atomic_store_n(&d->waiting, 0, __ATOMIC_RELAXED);
  d->answered.store(true, std::memory_order_release);
  d->signal.ring();
  return true;
}

namespace {

void serveHook(void *desk) { deskServe(static_cast<Desk *>(desk)); }

/*
 * ns_reference.decide on lanes. The JS thread asks the evaluator itself (after any question waiting, which
 * came first); another thread puts its question and waits for the answer, or for the lanes to close
 * (-1: the lane's model fails, and asks no more).
 */
int askDesk(void *ctx, const ns_batch *from, uint32_t row) {
  Bound *ref = static_cast<Bound *>(ctx);
  Desk *d = ref->desk.get();
  if (std::this_thread::get_id() == d->js_thread) {
    deskServe(d);
    return callDecide(ref, from, row);
  }
  std::lock_guard<std::mutex> one(d->one);
  if (d->closing.load()) return -1;
  d->asker = ref;
  d->from = from;
  d->row = row;
  d->answered.store(false, std::memory_order_relaxed);
  __atomic_store_n(&d->waiting, 1, __ATOMIC_RELEASE);
  d->signal.ring();
  d->signal.waitUntil([d] { return d->answered.load(std::memory_order_acquire) || d->closing.load(); });
  if (d->answered.load(std::memory_order_acquire)) return d->answer;
  __atomic_store_n(&d->waiting, 0, __ATOMIC_RELAXED);
  return -1;
}

}  // namespace

void deskWire(const std::shared_ptr<Desk> &d, Bound *ref) {
  ref->desk = d;
  ref->ref.decide = askDesk;
  ref->ref.ctx = ref;
  ref->ref.waiting = &d->waiting;
  ref->ref.serve = serveHook;
  ref->ref.desk = d.get();
}

}  // namespace netsieve_addon
