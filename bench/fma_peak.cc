#include "fma_peak.h"

#include <immintrin.h>

#include <chrono>

namespace {

// 16 independent accumulators hide the FMA latency on two pipes. The empty asm statements make
// every accumulator opaque to the compiler each iteration, so none can be merged or hoisted
// (without them GCC folded identical chains and the loop ran 9 FMAs, not 16, per iteration).
#define SEYE_ACCUMULATORS(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

__attribute__((target("avx512f"))) double RunAvx512(long iterations) {
  // Named variables, not an array: with an array GCC kept the accumulators in memory and the
  // loop measured a third of the real peak.
#define SEYE_INIT(i) __m512 a##i = _mm512_set1_ps(1.0f + float(i) * 1e-3f);
  SEYE_ACCUMULATORS(SEYE_INIT)
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  for (long n = 0; n < iterations; ++n) {
#define SEYE_FMA(i) a##i = _mm512_fmadd_ps(a##i, b, c);
    SEYE_ACCUMULATORS(SEYE_FMA)
    // Two statements: GCC allows at most 30 asm operands and each "+v" counts twice.
    asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));
    asm volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), "+v"(a12), "+v"(a13), "+v"(a14),
                 "+v"(a15));
  }
  float out[16], sum = 0;
#define SEYE_SUM(i)              \
  _mm512_storeu_ps(out, a##i);   \
  for (float v : out) sum += v;
  SEYE_ACCUMULATORS(SEYE_SUM)
  return sum;
}

__attribute__((target("avx2,fma"))) double RunAvx2(long iterations) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + float(i) * 1e-3f);
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (long n = 0; n < iterations; ++n) {
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
    asm volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]),
                 "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
  }
  float out[8], sum = 0;
  for (int i = 0; i < 12; ++i) {
    _mm256_storeu_ps(out, a[i]);
    for (float v : out) sum += v;
  }
  return sum;
}

}  // namespace

double MeasureFmaPeakGflops(double seconds) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const double flops_per_iteration = avx512 ? 16 * 16 * 2 : 12 * 8 * 2;
  volatile double sink = 0;
  long iterations = 1 << 20;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + (avx512 ? RunAvx512(iterations) : RunAvx2(iterations));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s >= seconds) return double(iterations) * flops_per_iteration / s / 1e9;
    iterations *= 2;
  }
}
