/*
 * The reference model on lanes (lane-pool.h). Its evaluator is JavaScript, which only the thread that
 * called into the addon (the JS thread) may run. A lane on any other thread that meets a flow its cache
 * has not kept puts the question on the desk and waits; the JS thread answers it between the rows it runs
 * itself (reference.cc polls ns_reference.waiting) and whenever it waits for the lanes (helpUntil). One
 * question at a time: a replay asks a few thousand in a million packets.
 *
 * The desk also holds the lanes' Signal. The lanes and each of their reference models share it
 * (shared_ptr): a model handle may outlive the lanes, whose finalizer then only marks the desk closed.
 */
#ifndef NETSIEVE_DESK_H
#define NETSIEVE_DESK_H
#include <atomic>
#include <mutex>
#include <thread>
#include "bound.h"
#include "lane-queue.h"

namespace netsieve_addon {

struct Desk {
  Signal signal;                    /* the lanes' (lane-pool.h), rung when a question is put or answered */
  std::mutex one;                   /* held by the asking lane from its question to its answer */
  int waiting = 0;                  /* a question put and not answered yet (__atomic: reference.cc reads it) */
  std::atomic<bool> answered{false};
  std::atomic<bool> closing{false}; /* the lanes are going: no answer will come */
  Bound *asker = nullptr;           /* the question: the asking lane's model, and a row of its batch */
  const ns_batch *from = nullptr;
  uint32_t row = 0;
  int answer = -1;
  std::thread::id js_thread;
};

/* Whether a question waits. */
inline bool deskWaiting(Desk *d) { return __atomic_load_n(&d->waiting, __ATOMIC_ACQUIRE) != 0; }
/* On the JS thread: answers the question waiting, if one does; whether it did. On any other thread: false. */
bool deskServe(Desk *d);
/* The lane's reference model `ref` (its ns_reference) made to ask through desk `d`. */
void deskWire(const std::shared_ptr<Desk> &d, Bound *ref);
/* The evaluator's verdict for row `row` of `from`, asked on the JS thread (addon-reference.cc). */
int callDecide(Bound *ref, const ns_batch *from, uint32_t row);

}  // namespace netsieve_addon
#endif
