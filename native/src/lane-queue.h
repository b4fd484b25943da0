/*
 * The batches waiting for one lane (addon-lanes.cc): a ring of DEPTH slots, filled by the decoding
 * thread (the producer) and emptied in order by the lane's own thread (the consumer). Each side blocks
 * only when the ring is full or empty, so whichever side is slower sets the pace and the other sleeps,
 * leaving it the core: the decoding thread and the lanes share the machine's cores without a fixed split.
 * A side about to sleep first spins a little (SPIN_NS): being woken costs tens of microseconds on the
 * VMs this runs on. Only a little: with more threads than cores (the decoding thread and N lanes on N
 * cores), a spinning thread holds a core another could use (5 us measured 0.348 s, 50 us 0.394 s, on
 * one replay of 2M packets at two lanes).
 */
#ifndef NETSIEVE_LANE_QUEUE_H
#define NETSIEVE_LANE_QUEUE_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace netsieve_addon {

class LaneQueue {
 public:
  enum { DEPTH = 4 };

  /* Producer: the slot to fill next, once the lane has emptied it. */
  uint32_t awaitRoom() {
    waitUntil([this] { return produced_.load(std::memory_order_acquire) - consumed_.load(std::memory_order_acquire) < DEPTH; });
    return (uint32_t)(produced_.load(std::memory_order_relaxed) % DEPTH);
  }
  /* Producer: the slot from awaitRoom is filled. */
  void publish() { bump(produced_); }
  /* Producer: until the lane has emptied every slot. */
  void drain() {
    waitUntil([this] { return consumed_.load(std::memory_order_acquire) == produced_.load(std::memory_order_acquire); });
  }
  /* Producer: the lane's thread returns once the ring is empty. */
  void close() { closing_.store(true); ring(); }

  /* Consumer: the next filled slot, or -1 once closed and empty. */
  int32_t awaitBatch() {
    waitUntil([this] { return produced_.load(std::memory_order_acquire) != consumed_.load(std::memory_order_relaxed) || closing_.load(); });
    if (produced_.load(std::memory_order_acquire) == consumed_.load(std::memory_order_relaxed)) return -1;
    return (int32_t)(consumed_.load(std::memory_order_relaxed) % DEPTH);
  }
  /* Consumer: the slot from awaitBatch is done. */
  void release() { bump(consumed_); }

 private:
  static constexpr int64_t SPIN_NS = 5000;

  static inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  template <typename Ready> void waitUntil(Ready ready) {
    auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(SPIN_NS);
    for (uint32_t n = 1; !ready(); n++) {
      relax();
      if ((n & 63) != 0 || std::chrono::steady_clock::now() < until) continue;
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_++;
      cv_.wait(lock, ready);
      sleepers_--;
      return;
    }
  }

  void bump(std::atomic<uint64_t> &counter) {
    counter.fetch_add(1, std::memory_order_acq_rel);
    ring();
  }

  /* Wakes the other side if it sleeps; the lock orders this against its check before sleeping. */
  void ring() {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleepers_ > 0) cv_.notify_all();
  }

  std::atomic<uint64_t> produced_{0}, consumed_{0};
  std::atomic<bool> closing_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int sleepers_ = 0;
};

}  // namespace netsieve_addon
#endif
