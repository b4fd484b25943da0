/*
 * What a second thread can add on this machine, apart from netsieve's own code (bench/tier-model.ts machineThreads2):
 * `threads` threads each run the same loop for `rounds` rounds, and the wall seconds are returned.
 * Two loops:
 * - narrow: one chain of dependent multiply-adds, about one instruction a cycle. Two hardware threads
 *   of one core run two of these as fast as two cores do.
 * - wide: eight independent chains, four or more instructions a cycle. Two hardware threads of one
 *   core share its execution ports, so two of these take longer than one; on separate cores they do not.
 * A VM's vCPUs may be hardware threads of one core (nothing inside the VM says so: lscpu shows one
 * thread per core); the wide loop's two-thread throughput is the ceiling for busy, cache-resident code
 * such as the replay's.
 */
#include <napi.h>
#include <stdint.h>
#include <chrono>
#include <thread>
#include <vector>

namespace netsieve_addon {

namespace {

/* The compiler must keep each chain in a register and may not fold or vectorise the loop. */
#define KEEP(x) __asm__ volatile("" : "+r"(x))

uint64_t narrowLoop(uint64_t rounds) {
  uint64_t a = 1;
  for (uint64_t i = 0; i < rounds; i++) {
    a = a * 3 + 1;
    KEEP(a);
  }
  return a;
}

uint64_t wideLoop(uint64_t rounds) {
  uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8;
  for (uint64_t i = 0; i < rounds; i++) {
    a += i; b ^= i; c += b; d ^= a; e += c; f ^= d; g += e; h ^= f;
    KEEP(a); KEEP(b); KEEP(c); KEEP(d); KEEP(e); KEEP(f); KEEP(g); KEEP(h);
  }
  return a + b + c + d + e + f + g + h;
}

/* machineCeiling(kind: 'narrow' | 'wide', threads: 1..64, rounds: 1..1e10): wall seconds. */
Napi::Value MachineCeiling(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  double threads = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  double rounds = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
  if ((kind != "narrow" && kind != "wide") || !(threads >= 1 && threads <= 64) || threads != (int)threads ||
      !(rounds >= 1 && rounds <= 1e10)) {
    Napi::TypeError::New(env, "native machineCeiling(kind, threads, rounds): kind 'narrow' or 'wide', threads a whole number from 1 to 64, rounds from 1 to 1e10").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t (*loop)(uint64_t) = kind == "wide" ? wideLoop : narrowLoop;
  std::vector<uint64_t> sums((size_t)threads);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> helpers;
  for (size_t k = 1; k < sums.size(); k++) helpers.emplace_back([&sums, k, loop, rounds] { sums[k] = loop((uint64_t)rounds); });
  sums[0] = loop((uint64_t)rounds);
  for (std::thread &t : helpers) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(env, seconds);
}

}  // namespace

void registerCalibrate(Napi::Env env, Napi::Object exports) {
  exports.Set("machineCeiling", Napi::Function::New(env, MachineCeiling));
}

}  // namespace netsieve_addon
