/*
 * The merge of a `replay --threads` run (src/replay/shard-merge.ts), in C: each worker of the fused
 * sharded replay has its own connection table; the main thread works out where each connection goes
 * in the merged table (mergePositions), and every worker copies its own rows there (scatterRows) and
 * adds a slice of the others' hit counters into the first worker's (addSlice), all at once. The buffers
 * are SharedArrayBuffers, read through bound.h viewOf.
 */
#include "bound.h"
#include "huge.h"
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <vector>

namespace netsieve_addon {

namespace {

/*
 * adviseHugePages(bytes: Uint8Array): asks for transparent huge pages (MADV_HUGEPAGE; the kernel's
 * default THP mode is "madvise") under the whole 2 MiB pages of a view, before it is first written.
 * Node allocates ArrayBuffers and SharedArrayBuffers in 4 KiB pages, and on the VMs this runs on the
 * first touch of a 4 KiB page costs tens of microseconds (24 MiB: about 100-150 ms, against a few ms in
 * huge pages). A hint: returns the bytes advised (0 when the view spans no whole huge page or the
 * kernel refuses).
 */
Napi::Value AdviseHugePages(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  uint8_t *data = viewOf<uint8_t>(env, info[0], napi_uint8_array, &length);
  if (!data) {
    Napi::TypeError::New(env, "native adviseHugePages: (bytes: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uintptr_t huge = HUGE_PAGE;
  uintptr_t lo = ((uintptr_t)data + huge - 1) & ~(huge - 1), hi = ((uintptr_t)data + length) & ~(huge - 1);
  if (hi <= lo || madvise((void *)lo, hi - lo, MADV_HUGEPAGE) != 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, (double)(hi - lo));
}

struct Part {
  const int32_t *file;
  const double *record;
  int32_t *position;
  size_t count, at;
};

/* Whether part p's next connection opened before part q's (by capture, then record). */
inline bool opensBefore(const Part &p, const Part &q) {
  int32_t pf = p.file[p.at], qf = q.file[q.at];
  return pf != qf ? pf < qf : p.record[p.at] < q.record[q.at];
}

/*
 * mergePositions(files: Int32Array[], records: Float64Array[], positions: Int32Array[], max): the
 * parts' tables (each in opening order, by firstFile then firstRecord) merged in that order:
 * positions[k][c] = the merged row of connection c of part k, or -1 from row `max` on.
 */
Napi::Value MergePositions(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double max = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray() || !(max >= 0)) {
    Napi::TypeError::New(env, "native mergePositions: (files[], records[], positions[], max)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array files = info[0].As<Napi::Array>(), records = info[1].As<Napi::Array>(), positions = info[2].As<Napi::Array>();
  uint32_t k = files.Length();
  std::vector<Part> parts(k);
  size_t total = 0;
  for (uint32_t p = 0; p < k; p++) {
    size_t nf = 0, nr = 0, np = 0;
    Part &part = parts[p];
    part.file = viewOf<int32_t>(env, files.Get(p), napi_int32_array, &nf);
    part.record = viewOf<double>(env, records.Get(p), napi_float64_array, &nr);
    part.position = viewOf<int32_t>(env, positions.Get(p), napi_int32_array, &np);
    if (!part.file || !part.record || !part.position || nr != nf || np < nf) {
      Napi::RangeError::New(env, "native mergePositions: a part's columns do not fit").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    part.count = nf;
    part.at = 0;
    total += nf;
  }
  for (size_t row = 0; row < total; row++) {
    uint32_t best = k;
    for (uint32_t p = 0; p < k; p++) {
      if (parts[p].at < parts[p].count && (best == k || opensBefore(parts[p], parts[best]))) best = p;
    }
    Part &from = parts[best];
    from.position[from.at++] = (double)row < max ? (int32_t)row : -1;
  }
  return env.Undefined();
}

/* Rows [0, count) of one column, `width` bytes each, to their rows in `dst`; a constant width lets the
   compiler copy with a few moves instead of a memcpy call per row. */
template <size_t W> void scatterFixed(const uint8_t *src, uint8_t *dst, const int32_t *positions, size_t count) {
  for (size_t c = 0; c < count; c++) {
    int32_t row = positions[c];
    if (row >= 0) memcpy(dst + (size_t)row * W, src + c * W, W);
  }
}

void scatterColumn(const uint8_t *src, uint8_t *dst, size_t width, const int32_t *positions, size_t count) {
  switch (width) {
    case 1: return scatterFixed<1>(src, dst, positions, count);
    case 2: return scatterFixed<2>(src, dst, positions, count);
    case 4: return scatterFixed<4>(src, dst, positions, count);
    case 8: return scatterFixed<8>(src, dst, positions, count);
    case 16: return scatterFixed<16>(src, dst, positions, count);
    case 32: return scatterFixed<32>(src, dst, positions, count);
    case 40: return scatterFixed<40>(src, dst, positions, count);
    default:
      for (size_t c = 0; c < count; c++) {
        if (positions[c] >= 0) memcpy(dst + (size_t)positions[c] * width, src + c * width, width);
      }
  }
}

/*
 * scatterRows(src: Uint8Array, dst: Uint8Array, columns: Float64Array(3 per column: source offset,
 * target offset, bytes per row), positions: Int32Array(count), count, rows): each of `count` connections
 * of a part's columns in `src` copied to row positions[c] (if >= 0) of the columns in `dst`, which hold
 * `rows` rows. Every offset, width and position is checked: nothing is read or written outside the views.
 */
Napi::Value ScatterRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t srcLen = 0, dstLen = 0, ncol = 0, npos = 0;
  const uint8_t *src = viewOf<uint8_t>(env, info[0], napi_uint8_array, &srcLen);
  uint8_t *dst = viewOf<uint8_t>(env, info[1], napi_uint8_array, &dstLen);
  const double *columns = viewOf<double>(env, info[2], napi_float64_array, &ncol);
  const int32_t *positions = viewOf<int32_t>(env, info[3], napi_int32_array, &npos);
  double count = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : -1;
  double rows = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : -1;
  if (!src || !dst || !columns || !positions || ncol % 3 != 0 || !(count >= 0) || count > npos || !(rows >= 0)) {
    Napi::TypeError::New(env, "native scatterRows: (src, dst, columns, positions, count, rows)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t n = (size_t)count;
  for (size_t c = 0; c < n; c++) {
    if (positions[c] >= rows) {
      Napi::RangeError::New(env, "native scatterRows: a position past the target's rows").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  for (size_t k = 0; k < ncol; k += 3) {
    double from = columns[k], to = columns[k + 1], width = columns[k + 2];
    bool whole = from == (double)(size_t)from && to == (double)(size_t)to && width == (double)(size_t)width;
    if (!(from >= 0 && to >= 0 && width >= 1 && width <= 64) || !whole || from + width * count > srcLen || to + width * rows > dstLen) {
      Napi::RangeError::New(env, "native scatterRows: a column does not fit its buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  for (size_t k = 0; k < ncol; k += 3) scatterColumn(src + (size_t)columns[k], dst + (size_t)columns[k + 1], (size_t)columns[k + 2], positions, n);
  return env.Undefined();
}

/*
 * addSlice(into: Float64Array, from: Float64Array, lo, hi): into[e] += from[e] for e in [lo, hi), skipping
 * zeros (pages of `into` that no packet touched stay untouched). The per-entry hit counters of the
 * workers, one slice per worker (src/replay/shard-merge.ts sumHitsSlice).
 */
Napi::Value AddSlice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t n = 0, m = 0;
  double *into = viewOf<double>(env, info[0], napi_float64_array, &n);
  const double *from = viewOf<double>(env, info[1], napi_float64_array, &m);
  double lo = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  double hi = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  if (!into || !from || !(lo >= 0 && lo <= hi) || hi > (double)n || hi > (double)m) {
    Napi::TypeError::New(env, "native addSlice: (into: Float64Array, from: Float64Array, lo, hi) within both").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (size_t e = (size_t)lo; e < (size_t)hi; e++) {
    if (from[e] != 0) into[e] += from[e];
  }
  return env.Undefined();
}

}  // namespace

void registerShards(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages));
  exports.Set("mergePositions", Napi::Function::New(env, MergePositions));
  exports.Set("scatterRows", Napi::Function::New(env, ScatterRows));
  exports.Set("addSlice", Napi::Function::New(env, AddSlice));
}

}  // namespace netsieve_addon
