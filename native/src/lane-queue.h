/*
 * The batches waiting for one lane (lane-pool.h): a ring of DEPTH slots, filled in order by the
 * decoding thread and run in order, one at a time, by whichever thread holds the lane's `runner` lock.
 * The counters are atomics; the sleeping and waking is the lanes' shared Signal, below.
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

  /* Held while a batch of this lane runs: its state is then that thread's alone. */
  std::mutex runner;

  bool hasRoom() const { return produced_.load(std::memory_order_acquire) - consumed_.load(std::memory_order_acquire) < DEPTH; }
  bool pending() const { return produced_.load(std::memory_order_acquire) != consumed_.load(std::memory_order_acquire); }
  /* With the runner held and pending(): the oldest batch's slot. */
  uint32_t oldest() const { return (uint32_t)(consumed_.load(std::memory_order_relaxed) % DEPTH); }
  /* Producer, with room: the slot to fill next. */
  uint32_t next() const { return (uint32_t)(produced_.load(std::memory_order_relaxed) % DEPTH); }
  /* Producer: the slot from next() is filled. */
  void publish() { produced_.fetch_add(1, std::memory_order_acq_rel); }
  /* With the runner held: the oldest batch is done. */
  void release() { consumed_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> produced_{0}, consumed_{0};
};

/*
 * Sleeping until some lane changes, for the threads of one replay: a thread whose wait condition is false
 * spins a little (SPIN_NS), then sleeps until another thread rings. Being woken costs tens of
 * microseconds on the VMs this runs on, so the spin; a short one, so as not to hold a core another
 * thread could use.
 */
class Signal {
 public:
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

  /* After any change another thread may wait for; the lock orders it against a sleeper's last check. */
  void ring() {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleepers_ > 0) cv_.notify_all();
  }

 private:
  static constexpr int64_t SPIN_NS = 5000;

  static inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int sleepers_ = 0;
};

}  // namespace netsieve_addon
#endif
