// Optional N-API addon: single-precision matrix products through an optimized CBLAS (OpenBLAS).
//
// The tfjs 'cpu' backend keeps tensor data in JS Float32Arrays, so the addon reads and writes
// them in place (no copies). Built by scripts/build-native.js; the pack runs without it.
//
// Exports:
//   gemm(transA, transB, batch, m, n, k, a, aStride, b, bStride, out, bias|null, relu) -> undefined
//     For each i < batch: out[i] = op(a[i]) . op(b[i]) (+ bias row, added to the finished product)
//     (then max(0, .) when relu, NaN kept),
//     row-major; a[i] starts at i*aStride floats (aStride 0 repeats the same matrix), likewise b.
//     op(a) is m x k, op(b) is k x n, out is m x n per batch item; bias has n floats.
//   sgdStep(p, g, buf|null, outP, outBuf|null, lr, momentum, weightDecay) -> undefined
//     One SGD update of n = p.length floats, in float arithmetic, each operation rounded to float
//     (built with -ffp-contract=off, so no fused multiply-add): d = g + p*wd (when wd != 0);
//     without outBuf: outP = p - d*lr; with outBuf: outBuf = buf*momentum + d (= d when buf is
//     null, the first step) and outP = p - outBuf*lr.
//   binary(op, a, b, out, mode, m, n) -> undefined
//     Element-wise a op b into out's first n elements, op 0 add, 1 sub, 2 mul (out a Float32Array),
//     3 less, 4 greater, 5 equal, 6 lessEqual, 7 greaterEqual, 8 notEqual (out a Uint8Array of
//     0/1, exactly n long); mode says how the
//     smaller side repeats: 0 same size, 1 b is one value, 2 a is one value, 3 b is a row of m
//     values repeated (b[i % m]), 4 a is such a row, 5 b holds one value per block of m (b[i / m]),
//     6 a does. Float arithmetic, each result rounded to float, as JS's double result stored in a
//     Float32Array is. Op 9 (float out): a * step(b), relu's gradient for dy = a and the relu's
//     output (or input) b: a where b > 0, a * 0 where b <= 0, NaN where b is NaN (Multiply(a, Step(b))).
//   unary(op, x, out, alpha) -> undefined
//     op 0 relu (max(0, x), NaN kept), 1 step (NaN kept, 1 where x > 0, else alpha), 2 abs, 3 square.
//   reduce(x, out, mean, leading) -> undefined
//     Sums (or means) in double: leading: out[j] = sum over rows r of x[r * out.length + j];
//     otherwise out[i] = sum of the i-th block of x.length / out.length consecutive values.
//   gatherRows(x, rowSize, indices, out) -> -1 or the position of the first index out of range
//     Copies row indices[i] (rowSize floats) of x to row i of out; indices is an Int32Array.
//   reluGrad(dy, y, out, sums|null) -> undefined
//     out = dy * step(y) (op 9 of binary); with sums (c floats), also the column sums of out taken
//     as rows of c values, in double, in row order (the bias gradient of a layer ending in relu).
//   crossEntropyLoss(x, cls, classes) -> number
//     The mean cross entropy of logits x [rows, classes] against classes cls (an Int32Array of rows,
//     -1 for none): -(sum of one-hot * log-softmax, in float) / rows, as the composed ops round it.
//   crossEntropyGrad(x, cls, classes, g, out) -> undefined
//     Its gradient for g = -(dy / rows): per row dv = g * one-hot, out = dv - sum(dv) * softmax.
//   conv2d(geom, x, filter, bias|null, relu, out) -> undefined
//     A 2-D convolution of NHWC x [n, h, w, c] with filter [kh, kw, c, oc] (tfjs's layouts) into out
//     [n, oh, ow, oc]: each output row of patches (im2col) times the filter matrix [kh*kw*c, oc]
//     through sgemm; then + bias (oc floats, added in float after the product, as a separate Add
//     would) and max(0, .) when relu. geom is an Int32Array of 15: n, h, w, c, kh, kw, oc, strideH,
//     strideW, dilationH, dilationW, padTop, padLeft, oh, ow (positions outside x read as zeros).
//   conv2dBackpropInput(geom, dy, filter, dx) -> undefined
//     dx [n, h, w, c] = the gradient of that convolution with respect to x for dy [n, oh, ow, oc]:
//     dy . filter^T gives each position's patch gradient (sgemm), added back onto the pixels (col2im).
//   conv2dBackpropFilter(geom, x, dy, dw) -> undefined
//     dw [kh, kw, c, oc] = sum over positions of patch^T . dy (sgemm per block of images; the
//     blocks' sums are added in block order).
//   The three split their work into blocks of whole images whose patches fit in about 256 KiB; the
//   blocks are fixed by the shapes alone, so results do not depend on the number of threads. Large
//   convolutions share their blocks with helper threads (loopThreads() - 1 of them) that take
//   blocks only when they are running: the calling thread never waits for one to get a core.
//   threads() -> number, setThreads(n) -> undefined: OpenBLAS's threads
//   loopThreads() -> number: the threads that may share binary/unary/reduce loops of 2^18
//     elements or more, gathers of 2^16 and large convolutions (OpenMP's count, OMP_NUM_THREADS
//     or the cores; 1 when built without OpenMP): the calling thread and loopThreads() - 1
//     helpers that join in when they get a core (BlockPool)
//   info() -> string
#include <node_api.h>
#include <cblas.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef PACK_OPENBLAS
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}
#endif

namespace {

bool Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, ("tfjs_blas: " + message).c_str());
  return false;
}

bool GetBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return Throw(env, std::string(name) + " must be a boolean");
  return true;
}

bool GetInt(napi_env env, napi_value v, const char* name, int64_t* out) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0) {
    return Throw(env, std::string(name) + " must be a non-negative integer");
  }
  return true;
}

template <typename T> struct TypedArrayOf;
template <> struct TypedArrayOf<float> { static constexpr napi_typedarray_type type = napi_float32_array; static constexpr const char* name = "a Float32Array"; };
template <> struct TypedArrayOf<int32_t> { static constexpr napi_typedarray_type type = napi_int32_array; static constexpr const char* name = "an Int32Array"; };
template <> struct TypedArrayOf<uint8_t> { static constexpr napi_typedarray_type type = napi_uint8_array; static constexpr const char* name = "a Uint8Array"; };

// A typed array argument of element type T: its data and length.
template <typename T>
bool GetTyped(napi_env env, napi_value v, const char* name, T** data, int64_t* length) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  napi_typedarray_type type;
  size_t n = 0;
  void* raw = nullptr;
  if (!isTyped || napi_get_typedarray_info(env, v, &type, &n, &raw, nullptr, nullptr) != napi_ok || type != TypedArrayOf<T>::type) {
    return Throw(env, std::string(name) + " must be " + TypedArrayOf<T>::name);
  }
  *data = static_cast<T*>(raw);
  *length = static_cast<int64_t>(n);
  return true;
}

// A Float32Array argument with at least `need` elements.
bool GetFloats(napi_env env, napi_value v, const char* name, int64_t need, float** data) {
  int64_t length;
  if (!GetTyped(env, v, name, data, &length)) return false;
  if (length < need) return Throw(env, std::string(name) + " has " + std::to_string(length) + " floats, needs " + std::to_string(need));
  return true;
}

// Reads exactly `count` arguments into argv; otherwise throws "<signature> expects ..." and returns false.
bool Args(napi_env env, napi_callback_info info, size_t count, napi_value* argv, const char* signature) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc == count) return true;
  return Throw(env, std::string(signature) + " expects " + std::to_string(count) + " arguments");
}

// c = op(a) . op(b) + beta * c, row-major. A product with one row or one column is a
// matrix-vector product: sgemv reads the matrix once, where sgemm would first pack it into
// blocks (5x slower for the chapter's 256x784 by 784x1).
void Product(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
             float beta, float* c) {
  if (n == 1) {  // op(b) is a column of k values, contiguous either way
    if (ta == CblasNoTrans) cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, lda, b, 1, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, k, m, 1.0f, a, lda, b, 1, beta, c, 1);
  } else if (m == 1) {  // op(a) is a row of k values: c^T = op(b)^T . a^T
    if (tb == CblasNoTrans) cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, b, ldb, a, 1, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, b, ldb, a, 1, beta, c, 1);
  } else {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, n);
  }
}

// A large product cut into pieces that the BlockPool's threads share (defined below); false when
// the product is too small or OpenBLAS runs threads of its own.
bool SharedProduct(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int lda, const float* b, int ldb, float* c);

napi_value Gemm(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!Args(env, info, 13, argv, "gemm(transA, transB, batch, m, n, k, a, aStride, b, bStride, out, bias, relu)")) return nullptr;
  bool transA, transB, relu;
  int64_t batch, m, n, k, aStride, bStride;
  if (!GetBool(env, argv[0], "transA", &transA) || !GetBool(env, argv[1], "transB", &transB) ||
      !GetInt(env, argv[2], "batch", &batch) || !GetInt(env, argv[3], "m", &m) ||
      !GetInt(env, argv[4], "n", &n) || !GetInt(env, argv[5], "k", &k) ||
      !GetInt(env, argv[7], "aStride", &aStride) || !GetInt(env, argv[9], "bStride", &bStride) ||
      !GetBool(env, argv[12], "relu", &relu)) {
    return nullptr;
  }
  if (batch == 0 || m == 0 || n == 0) return nullptr;
  if (aStride != 0 && aStride < m * k) { Throw(env, "aStride is smaller than one matrix"); return nullptr; }
  if (bStride != 0 && bStride < k * n) { Throw(env, "bStride is smaller than one matrix"); return nullptr; }
  float *a, *b, *out, *bias = nullptr;
  if (!GetFloats(env, argv[6], "a", aStride * (batch - 1) + m * k, &a) ||
      !GetFloats(env, argv[8], "b", bStride * (batch - 1) + k * n, &b) ||
      !GetFloats(env, argv[10], "out", batch * m * n, &out)) {
    return nullptr;
  }
  napi_valuetype biasType;
  napi_typeof(env, argv[11], &biasType);
  if (biasType != napi_null && biasType != napi_undefined && !GetFloats(env, argv[11], "bias", n, &bias)) {
    return nullptr;
  }

  const CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  const int lda = transA ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = transB ? static_cast<int>(k) : static_cast<int>(n);
  for (int64_t i = 0; i < batch; i++) {
    float* c = out + i * m * n;
    if (k > 0) {
      if (!SharedProduct(ta, tb, m, n, k, a + i * aStride, lda, b + i * bStride, ldb, c)) {
        Product(ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a + i * aStride, lda, b + i * bStride, ldb, 0.0f, c);
      }
    } else {
      std::memset(c, 0, sizeof(float) * m * n);
    }
    // The bias is added to the finished product in float, as a separate Add kernel adds it, and
    // relu keeps NaN as tfjs's Relu does: the same numbers as matMul, add, relu.
    if (bias != nullptr) {
      for (int64_t r = 0; r < m; r++) {
        float* row = c + r * n;
        for (int64_t j = 0; j < n; j++) row[j] = row[j] + bias[j];
      }
    }
    if (relu) {
      for (int64_t j = 0; j < m * n; j++) { const float v = c[j]; c[j] = v > 0.0f ? v : (v != v ? v : 0.0f); }
    }
  }
  return nullptr;
}

// The length of a Float32Array argument, or -1 (and a JS error) when it is not one.
int64_t FloatsLength(napi_env env, napi_value v, const char* name) {
  float* data;
  int64_t length;
  return GetTyped(env, v, name, &data, &length) ? length : -1;
}

bool IsNull(napi_env env, napi_value v) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  return type == napi_null || type == napi_undefined;
}

bool GetFloat(napi_env env, napi_value v, const char* name, float* out) {
  double value;
  if (napi_get_value_double(env, v, &value) != napi_ok) return Throw(env, std::string(name) + " must be a number");
  *out = static_cast<float>(value);
  return true;
}

napi_value SgdStep(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!Args(env, info, 8, argv, "sgdStep(p, g, buf, outP, outBuf, lr, momentum, weightDecay)")) return nullptr;
  const int64_t n = FloatsLength(env, argv[0], "p");
  if (n < 0) return nullptr;
  float *p, *g, *outP, *buf = nullptr, *outBuf = nullptr;
  float lr, momentum, wd;
  if (!GetFloats(env, argv[0], "p", n, &p) || !GetFloats(env, argv[1], "g", n, &g) ||
      (!IsNull(env, argv[2]) && !GetFloats(env, argv[2], "buf", n, &buf)) ||
      !GetFloats(env, argv[3], "outP", n, &outP) ||
      (!IsNull(env, argv[4]) && !GetFloats(env, argv[4], "outBuf", n, &outBuf)) ||
      !GetFloat(env, argv[5], "lr", &lr) || !GetFloat(env, argv[6], "momentum", &momentum) ||
      !GetFloat(env, argv[7], "weightDecay", &wd)) {
    return nullptr;
  }
  for (int64_t i = 0; i < n; i++) {
    const float d = wd != 0.0f ? g[i] + p[i] * wd : g[i];
    if (outBuf == nullptr) {
      outP[i] = p[i] - d * lr;
    } else {
      const float b = buf == nullptr ? d : buf[i] * momentum + d;
      outBuf[i] = b;
      outP[i] = p[i] - b * lr;
    }
  }
  return nullptr;
}

// Ops 0..2 give floats, 3..8 give 0/1 bytes (tfjs's bool), with IEEE comparisons (false for NaN,
// except not-equal), as JS compares.
template <int Op>
inline auto Apply(float x, float y) {
  if constexpr (Op == 0) return x + y;
  else if constexpr (Op == 1) return x - y;
  else if constexpr (Op == 2) return x * y;
  else if constexpr (Op == 3) return static_cast<uint8_t>(x < y);
  else if constexpr (Op == 4) return static_cast<uint8_t>(x > y);
  else if constexpr (Op == 5) return static_cast<uint8_t>(x == y);
  else if constexpr (Op == 6) return static_cast<uint8_t>(x <= y);
  else if constexpr (Op == 7) return static_cast<uint8_t>(x >= y);
  else if constexpr (Op == 8) return static_cast<uint8_t>(x != y);
  else {
    // Selects, not branches: a relu's output is positive about half the time at random, and a
    // mispredicted branch per element cost 5 ns.
    float step = y > 0.0f ? 1.0f : 0.0f;
    step = y != y ? y : step;
    return x * step;
  }
}

// Loops over at least this many elements are split into pieces that the calling thread and the
// BlockPool's helpers share. Each output element is computed by one thread in the same way, so the
// results do not depend on the number of threads. Smaller loops stay on the calling thread: waking
// a helper costs more than it saves.
constexpr int64_t kParallelMin = 1 << 18;

// Pieces of a large loop: enough for two to four threads to share unevenly.
constexpr int64_t kPieces = 8;

// The threads that may share a loop: OpenMP's count (OMP_NUM_THREADS, else the cores) when built
// with OpenMP, else 1.
int64_t LoopThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Helper threads that take pieces of a large loop or blocks of a convolution when they can, never
// holding it up.
//
// An OpenMP loop ends at a barrier: every thread of the team must arrive. On a shared machine a
// thread often waits for a core, and the whole loop waits with it: on the 2-core machine we
// measured, with other jobs running, pixel similarity took about 110 ms with its large loops on
// two OpenMP threads against 5 to 16 ms on one, and a CNN epoch 4.2 to 6.8 s against 3.4 s. Here
// the calling thread takes pieces itself from a shared counter, and the helpers (LoopThreads() - 1
// of them), woken when a job starts, take pieces too; the call waits only for pieces a helper has
// already begun. A helper that is not running when the job starts simply finds nothing left.
// Each piece is computed the same way whichever thread takes it, so results do not depend on the
// number of threads. The helpers live as long as the process.
class BlockPool {
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds kSpin{2000};

 public:
  static BlockPool& Get() {
    static BlockPool* pool = new BlockPool();  // never destroyed: helpers may outlive static destructors
    return *pool;
  }

  int Helpers() const { return static_cast<int>(threads_.size()); }

  // Runs block(b) for b in [0, count), here and on the helpers (only here while another thread,
  // e.g. a worker_thread's convolution, has the helpers).
  void Run(int64_t count, const std::function<void(int64_t)>& block) {
    std::unique_lock<std::mutex> caller(caller_, std::try_to_lock);
    if (!caller.owns_lock()) {
      for (int64_t b = 0; b < count; b++) block(b);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &block;
      count_ = count;
      next_.store(0);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (int64_t b; (b = next_.fetch_add(1)) < count;) block(b);
    // A helper that took a piece finishes it at about the same time: wait for it awake first.
    for (auto until = Clock::now() + kSpin; busy_.load() != 0 && Clock::now() < until;) std::this_thread::yield();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_.load() == 0; });
    job_ = nullptr;  // under the lock, where busy_ is 0: no helper can start on it any more
  }

 private:
  BlockPool() {
    int helpers = static_cast<int>(LoopThreads()) - 1;
    for (int i = 0; i < helpers; i++) threads_.emplace_back([this] { Work(); });
    for (auto& t : threads_) t.detach();
  }

  // After a job a helper stays awake for kSpin, yielding its core to anything else that wants it,
  // and only then sleeps: a training step starts its large products a few hundred microseconds
  // apart, and waking a sleeping thread takes tens of microseconds on a virtual machine, about
  // what its half of a 128 x 784 x 128 product takes (OpenBLAS's and OpenMP's threads wait the same way).
  void Work() {
    uint64_t seen = 0;
    for (;;) {
      for (auto until = Clock::now() + kSpin; generation_.load() == seen && Clock::now() < until;) std::this_thread::yield();
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      const std::function<void(int64_t)>* job = job_;
      const int64_t count = count_;
      if (job == nullptr) continue;  // woke after that job had finished
      busy_++;
      lock.unlock();
      for (int64_t b; (b = next_.fetch_add(1)) < count;) (*job)(b);
      lock.lock();
      if (--busy_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex caller_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> generation_{0};  // changed under mutex_, read without it while spinning
  std::atomic<int> busy_{0};             // likewise
};

// Products of at least this many multiply-adds are cut into pieces: two row bands of the result
// (or two column bands when it has few rows), four from 2^25. The pieces depend only on the shapes,
// never on the number of threads, so neither do the results.
constexpr int64_t kSharedProductMin = int64_t{1} << 22;

bool SharedProduct(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int lda, const float* b, int ldb, float* c) {
  const int64_t work = m * n * k;
  if (work < kSharedProductMin) return false;
#ifdef PACK_OPENBLAS
  if (openblas_get_num_threads() > 1) return false;  // BLAS_THREADS: OpenBLAS splits the product itself
#endif
  const int64_t wanted = work >= (int64_t{1} << 25) ? 4 : 2;
  const bool byRows = m >= 32 * wanted || m >= n;
  const int64_t extent = byRows ? m : n;
  const int64_t pieces = std::min<int64_t>(wanted, extent / 16);
  if (pieces < 2) return false;
  const int ldc = static_cast<int>(n);
  BlockPool::Get().Run(pieces, [&](int64_t p) {
    const int64_t begin = extent * p / pieces, end = extent * (p + 1) / pieces;
    if (byRows) {  // rows [begin, end) of op(a) and of c
      const float* ap = ta == CblasNoTrans ? a + begin * lda : a + begin;
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(end - begin), static_cast<int>(n), static_cast<int>(k), 1.0f, ap, lda, b, ldb,
                  0.0f, c + begin * ldc, ldc);
    } else {  // columns [begin, end) of op(b) and of c
      const float* bp = tb == CblasNoTrans ? b + begin : b + begin * ldb;
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(end - begin), static_cast<int>(k), 1.0f, a, lda, bp, ldb,
                  0.0f, c + begin, ldc);
    }
  });
  return true;
}

// Runs body(begin, end) over [0, count) in contiguous pieces, shared with the helpers when `work` is large.
template <typename Body>
void Split(int64_t count, int64_t work, Body body) {
  if (work >= kParallelMin && count > 1 && BlockPool::Get().Helpers() > 0) {
    const int64_t pieces = std::min(count, kPieces);
    BlockPool::Get().Run(pieces, [&](int64_t p) { body(count * p / pieces, count * (p + 1) / pieces); });
    return;
  }
  body(0, count);
}

template <int Op, typename Out>
void BinaryLoop(const float* a, const float* b, Out* out, int64_t n, int64_t mode, int64_t m) {
  if (mode <= 2) {
    Split(n, n, [&](int64_t begin, int64_t end) {
      switch (mode) {
        case 0: for (int64_t i = begin; i < end; i++) out[i] = Apply<Op>(a[i], b[i]); break;
        case 1: { const float y = b[0]; for (int64_t i = begin; i < end; i++) out[i] = Apply<Op>(a[i], y); break; }
        default: { const float x = a[0]; for (int64_t i = begin; i < end; i++) out[i] = Apply<Op>(x, b[i]); break; }
      }
    });
    return;
  }
  Split(n / m, n, [&](int64_t rowBegin, int64_t rowEnd) {
    for (int64_t k = rowBegin; k < rowEnd; k++) {
      const int64_t r = k * m;
      switch (mode) {
        case 3: for (int64_t j = 0; j < m; j++) out[r + j] = Apply<Op>(a[r + j], b[j]); break;
        case 4: for (int64_t j = 0; j < m; j++) out[r + j] = Apply<Op>(a[j], b[r + j]); break;
        case 5: for (int64_t j = 0; j < m; j++) out[r + j] = Apply<Op>(a[r + j], b[k]); break;
        default: for (int64_t j = 0; j < m; j++) out[r + j] = Apply<Op>(a[k], b[r + j]); break;
      }
    }
  });
}

napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!Args(env, info, 7, argv, "binary(op, a, b, out, mode, m, n)")) return nullptr;
  int64_t op, mode, m, n;
  if (!GetInt(env, argv[0], "op", &op) || !GetInt(env, argv[4], "mode", &mode) || !GetInt(env, argv[5], "m", &m) ||
      !GetInt(env, argv[6], "n", &n)) {
    return nullptr;
  }
  if (op > 9 || mode > 6) { Throw(env, "binary: op must be 0..9 and mode 0..6"); return nullptr; }
  if (n == 0) return nullptr;
  if (mode >= 3 && (m <= 0 || n % m != 0)) { Throw(env, "binary: m must divide n"); return nullptr; }
  const int64_t small = mode == 1 || mode == 2 ? 1 : mode == 3 || mode == 4 ? m : n / (mode >= 5 ? m : 1);
  const bool aSmall = mode == 2 || mode == 4 || mode == 6;
  const bool bSmall = mode == 1 || mode == 3 || mode == 5;
  float *a, *b;
  if (!GetFloats(env, argv[1], "a", aSmall ? small : n, &a) || !GetFloats(env, argv[2], "b", bSmall ? small : n, &b)) return nullptr;
  if (op <= 2 || op == 9) {
    float* out;
    if (!GetFloats(env, argv[3], "out", n, &out)) return nullptr;
    if (op == 0) BinaryLoop<0>(a, b, out, n, mode, m);
    else if (op == 1) BinaryLoop<1>(a, b, out, n, mode, m);
    else if (op == 2) BinaryLoop<2>(a, b, out, n, mode, m);
    else BinaryLoop<9>(a, b, out, n, mode, m);
    return nullptr;
  }
  uint8_t* out;
  int64_t outLength;
  if (!GetTyped(env, argv[3], "out", &out, &outLength)) return nullptr;
  if (outLength != n) { Throw(env, "out must have " + std::to_string(n) + " elements"); return nullptr; }
  switch (op) {
    case 3: BinaryLoop<3>(a, b, out, n, mode, m); break;
    case 4: BinaryLoop<4>(a, b, out, n, mode, m); break;
    case 5: BinaryLoop<5>(a, b, out, n, mode, m); break;
    case 6: BinaryLoop<6>(a, b, out, n, mode, m); break;
    case 7: BinaryLoop<7>(a, b, out, n, mode, m); break;
    default: BinaryLoop<8>(a, b, out, n, mode, m); break;
  }
  return nullptr;
}

// reluGrad(dy, y, out, sums|null): out = dy * step(y) (binary op 9, relu's gradient), and with
// sums (c floats) the column sums of out as rows of c values, summed in double in row order as
// reduce(out, sums, false, true) sums them on one thread: the bias gradient in the same pass.
// One thread: at the sizes of a training step, waking a second one cost more than it saved.
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "reluGrad(dy, y, out, sums)")) return nullptr;
  const int64_t n = FloatsLength(env, argv[0], "dy");
  if (n < 0) return nullptr;
  float *dy, *y, *out, *sums = nullptr;
  if (!GetFloats(env, argv[0], "dy", n, &dy) || !GetFloats(env, argv[1], "y", n, &y) || !GetFloats(env, argv[2], "out", n, &out)) return nullptr;
  int64_t c = 0;
  if (!IsNull(env, argv[3])) {
    c = FloatsLength(env, argv[3], "sums");
    if (c < 0 || !GetFloats(env, argv[3], "sums", c, &sums)) return nullptr;
    if (c == 0 || n % c != 0) { Throw(env, "reluGrad: sums.length must divide dy.length"); return nullptr; }
  }
  for (int64_t i = 0; i < n; i++) out[i] = Apply<9>(dy[i], y[i]);
  if (sums != nullptr) {
    std::vector<double> acc(static_cast<size_t>(c), 0.0);
    for (int64_t r = 0; r < n; r += c) {
      const float* row = out + r;
      for (int64_t j = 0; j < c; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < c; j++) sums[j] = static_cast<float>(acc[j]);
  }
  return nullptr;
}

napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "unary(op, x, out, alpha)")) return nullptr;
  int64_t op;
  float alpha;
  if (!GetInt(env, argv[0], "op", &op) || !GetFloat(env, argv[3], "alpha", &alpha)) return nullptr;
  if (op > 3) { Throw(env, "unary: op must be 0..3"); return nullptr; }
  const int64_t n = FloatsLength(env, argv[1], "x");
  float *x, *out;
  if (n < 0 || !GetFloats(env, argv[1], "x", n, &x) || !GetFloats(env, argv[2], "out", n, &out)) return nullptr;
  Split(n, n, [&](int64_t begin, int64_t end) {
    switch (op) {
      case 0: for (int64_t i = begin; i < end; i++) { const float v = x[i]; out[i] = v > 0.0f ? v : (v != v ? v : 0.0f); } break;
      case 1: for (int64_t i = begin; i < end; i++) { const float v = x[i]; out[i] = v != v ? v : (v > 0.0f ? 1.0f : alpha); } break;
      case 2: for (int64_t i = begin; i < end; i++) out[i] = x[i] < 0.0f ? -x[i] : (x[i] == 0.0f ? 0.0f : x[i]); break;
      default: for (int64_t i = begin; i < end; i++) out[i] = x[i] * x[i]; break;
    }
  });
  return nullptr;
}

// The sum of n floats in double. Four running sums break the chain of dependent additions
// (doubles: the order changes nothing that survives rounding to float).
double BlockSum(const float* v, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) { s0 += v[j]; s1 += v[j + 1]; s2 += v[j + 2]; s3 += v[j + 3]; }
  for (; j < n; j++) s0 += v[j];
  return (s0 + s1) + (s2 + s3);
}

napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "reduce(x, out, mean, leading)")) return nullptr;
  bool mean, leading;
  if (!GetBool(env, argv[2], "mean", &mean) || !GetBool(env, argv[3], "leading", &leading)) return nullptr;
  const int64_t n = FloatsLength(env, argv[0], "x");
  if (n < 0) return nullptr;
  const int64_t outSize = FloatsLength(env, argv[1], "out");
  if (outSize < 0) return nullptr;
  if (outSize == 0 || n % outSize != 0) { Throw(env, "reduce: out.length must divide x.length"); return nullptr; }
  float *x, *out;
  if (!GetFloats(env, argv[0], "x", n, &x) || !GetFloats(env, argv[1], "out", outSize, &out)) return nullptr;
  const int64_t count = n / outSize;
  auto finish = [&](int64_t i, double sum) { out[i] = static_cast<float>(mean ? sum / static_cast<double>(count) : sum); };
  if (leading && outSize > 1) {
    // Large sums go in four bands of rows (whichever threads take them); the bands' sums are
    // added in band order, so the result does not depend on the number of threads.
    const int64_t bands = n >= kParallelMin ? std::min<int64_t>(4, count) : 1;
    std::vector<double> acc(static_cast<size_t>(bands * outSize), 0.0);
    Split(bands, bands * kParallelMin, [&](int64_t bandBegin, int64_t bandEnd) {
      for (int64_t band = bandBegin; band < bandEnd; band++) {
        double* sum = acc.data() + band * outSize;
        for (int64_t r = count * band / bands, end = count * (band + 1) / bands; r < end; r++) {
          const float* row = x + r * outSize;
          for (int64_t j = 0; j < outSize; j++) sum[j] += row[j];
        }
      }
    });
    for (int64_t j = 0; j < outSize; j++) {
      double total = acc[j];
      for (int64_t band = 1; band < bands; band++) total += acc[band * outSize + j];
      finish(j, total);
    }
  } else {
    Split(outSize, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        finish(i, BlockSum(x + i * count, count));
      }
    });
  }
  return nullptr;
}

// ---- Cross entropy (log-softmax, one-hot pick, mean) and its gradient ----
//
// The arithmetic of the composed tfjs ops, each value rounded to float where their kernels round
// it (x - max, exp, the row sums in double through BlockSum as the Sum kernel does, log, the
// subtraction), so the loss and the gradient come out the same to the last bit.

// Checks x [rows, classes] and cls (one class per row, -1 for a zero one-hot row).
bool GetLossArgs(napi_env env, napi_value* argv, const char* fn, float** x, int32_t** cls, int64_t* rows, int64_t* classes) {
  int64_t n, nRows;
  if (!GetInt(env, argv[2], "classes", classes) || !GetTyped(env, argv[0], "x", x, &n) || !GetTyped(env, argv[1], "cls", cls, &nRows)) return false;
  if (*classes <= 0 || n != nRows * *classes) return Throw(env, std::string(fn) + ": x must hold classes (at least 1) values for each entry of cls");
  *rows = nRows;
  return true;
}

// One row's log-probabilities: x - max (NaN wins), minus the log of the sum of exps.
void LogSoftmaxRow(const float* x, int64_t classes, float* logProbs, float* exps) {
  float max = x[0];
  for (int64_t j = 0; j < classes; j++) if (x[j] != x[j] || x[j] > max) max = x[j];
  for (int64_t j = 0; j < classes; j++) logProbs[j] = x[j] - max;
  for (int64_t j = 0; j < classes; j++) exps[j] = static_cast<float>(std::exp(static_cast<double>(logProbs[j])));
  const float logSum = static_cast<float>(std::log(static_cast<double>(static_cast<float>(BlockSum(exps, classes)))));
  for (int64_t j = 0; j < classes; j++) logProbs[j] = logProbs[j] - logSum;
}

// crossEntropyLoss(x, cls, classes) -> -(sum of the picked log-probabilities, in float) / rows, in double.
napi_value CrossEntropyLoss(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv, "crossEntropyLoss(x, cls, classes)")) return nullptr;
  float* x;
  int32_t* cls;
  int64_t rows, classes;
  if (!GetLossArgs(env, argv, "crossEntropyLoss", &x, &cls, &rows, &classes)) return nullptr;
  std::vector<float> picked(static_cast<size_t>(rows * classes)), exps(static_cast<size_t>(classes));
  for (int64_t i = 0; i < rows; i++) {
    float* row = picked.data() + i * classes;
    LogSoftmaxRow(x + i * classes, classes, row, exps.data());
    for (int64_t j = 0; j < classes; j++) row[j] = (j == cls[i] ? 1.0f : 0.0f) * row[j];
  }
  const float total = static_cast<float>(BlockSum(picked.data(), rows * classes));
  napi_value result;
  napi_create_double(env, -static_cast<double>(total) / static_cast<double>(rows), &result);
  return result;
}

// crossEntropyGrad(x, cls, classes, g, out): out = dv - (row sum of dv) * softmax, dv = g * one-hot
// (g = -(dy / rows), rounded to float by the caller).
napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, 5, argv, "crossEntropyGrad(x, cls, classes, g, out)")) return nullptr;
  float *x, *out, g;
  int32_t* cls;
  int64_t rows, classes;
  if (!GetLossArgs(env, argv, "crossEntropyGrad", &x, &cls, &rows, &classes) || !GetFloat(env, argv[3], "g", &g) ||
      !GetFloats(env, argv[4], "out", rows * classes, &out)) {
    return nullptr;
  }
  std::vector<float> logProbs(static_cast<size_t>(classes)), exps(static_cast<size_t>(classes));
  for (int64_t i = 0; i < rows; i++) {
    LogSoftmaxRow(x + i * classes, classes, logProbs.data(), exps.data());
    float* dv = out + i * classes;
    for (int64_t j = 0; j < classes; j++) dv[j] = g * (j == cls[i] ? 1.0f : 0.0f);
    const float rowSum = static_cast<float>(BlockSum(dv, classes));
    for (int64_t j = 0; j < classes; j++) dv[j] = dv[j] - rowSum * static_cast<float>(std::exp(static_cast<double>(logProbs[j])));
  }
  return nullptr;
}

// ---- Convolutions (NHWC) through im2col and sgemm ----

struct ConvGeom {
  int64_t n, h, w, c, kh, kw, oc, sh, sw, dh, dw, pt, pl, oh, ow;
  int64_t K() const { return kh * kw * c; }      // one patch: kh*kw*c values, in the filter's order
  int64_t rowsPerImage() const { return oh * ow; }
  // A 1x1 kernel at stride 1 without padding: x itself is the patch matrix.
  bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w; }
};

bool GetGeom(napi_env env, napi_value v, ConvGeom* g) {
  int32_t* d;
  int64_t length;
  if (!GetTyped(env, v, "geom", &d, &length)) return false;
  if (length != 15) return Throw(env, "geom must hold 15 integers");
  for (int i = 0; i < 15; i++) {
    if (d[i] < 0) return Throw(env, "geom values must be non-negative");
  }
  *g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1) return Throw(env, "strides and dilations must be at least 1");
  if (g->kh < 1 || g->kw < 1) return Throw(env, "the kernel must be at least 1x1");
  return true;
}

// Patches of at most this many floats (256 KiB) are built at a time, so they stay in the cache
// between being written and being multiplied.
constexpr int64_t kPatchBlock = 1 << 16;

// The work split: blocks of whole images (or, when one image's patches are larger than
// kPatchBlock, one image per block), each processed in pieces of at most `rows` output rows.
// Fixed by the shapes alone, so results never depend on the number of threads.
struct ConvBlocks {
  int64_t images;  // images per block
  int64_t count;   // blocks
  int64_t rows;    // output rows per piece
};

ConvBlocks PlanBlocks(const ConvGeom& g) {
  const int64_t perImage = std::max<int64_t>(1, g.rowsPerImage() * g.K());
  const int64_t images = std::max<int64_t>(1, std::min<int64_t>(g.n, kPatchBlock / perImage));
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(images * g.rowsPerImage(), kPatchBlock / std::max<int64_t>(1, g.K())));
  return {images, (g.n + images - 1) / images, rows};
}

// Runs body(block) for every block, with the BlockPool when the work (multiply-adds) is large.
// Each block calls OpenBLAS on one thread: when it is set to more (BLAS_THREADS), it is set back
// to one meanwhile, since its threads would split a product's sums differently, and results would
// then depend on the number of threads.
template <typename Body>
void ForBlocks(int64_t count, int64_t work, Body body) {
#ifdef PACK_OPENBLAS
  const int blasThreads = openblas_get_num_threads();
  if (blasThreads > 1) openblas_set_num_threads(1);
#endif
  if (count > 1 && work >= (int64_t{1} << 22) && BlockPool::Get().Helpers() > 0) {
    BlockPool::Get().Run(count, std::function<void(int64_t)>(body));
  } else {
    for (int64_t b = 0; b < count; b++) body(b);
  }
#ifdef PACK_OPENBLAS
  if (blasThreads > 1) openblas_set_num_threads(blasThreads);
#endif
}

// Copies (or adds) n floats. Runs of a patch row are short (5 floats for a 5x5 kernel on one
// channel), where a call to memcpy costs more than the copy; the loops are kept as loops.
#if defined(__GNUC__) && !defined(__clang__)
#define PACK_NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define PACK_NO_LIBCALL
#endif
PACK_NO_LIBCALL inline void CopyRun(float* dst, const float* src, int64_t n) {
  if (n >= 64) { std::memcpy(dst, src, sizeof(float) * n); return; }
  for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}
PACK_NO_LIBCALL inline void ZeroRun(float* dst, int64_t n) {
  if (n >= 64) { std::memset(dst, 0, sizeof(float) * n); return; }
  for (int64_t i = 0; i < n; i++) dst[i] = 0.0f;
}
inline void AddRun(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

// An output position (image b, row oy, column ox), stepped without dividing (a 64-bit division
// per position cost more than copying a small patch).
struct Position {
  int64_t b, oy, ox;
  const int64_t oh, ow;
  Position(const ConvGeom& g, int64_t r) : b(r / (g.oh * g.ow)), oy(r % (g.oh * g.ow) / g.ow), ox(r % g.ow), oh(g.oh), ow(g.ow) {}
  void next() {
    if (++ox < ow) return;
    ox = 0;
    if (++oy < oh) return;
    oy = 0;
    b++;
  }
};

// The taps kx in [lo, hi) of a patch starting at column x0 that fall inside the image.
inline void TapRange(const ConvGeom& g, int64_t x0, int64_t* lo, int64_t* hi) {
  if (g.dw == 1) {  // no division: this runs once per output position
    *lo = x0 < 0 ? -x0 : 0;
    *hi = std::min<int64_t>(g.kw, std::max<int64_t>(0, g.w - x0));
  } else {
    *lo = x0 < 0 ? (-x0 + g.dw - 1) / g.dw : 0;
    *hi = std::min<int64_t>(g.kw, g.w > x0 ? (g.w - x0 + g.dw - 1) / g.dw : 0);
  }
  if (*hi < *lo) *hi = *lo;
}

// Im2col for any dilation, position by position.
void Im2colGeneric(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t K = g.K(), c = g.c, rowLen = g.kw * c;
  Position p(g, r0);
  for (int64_t r = r0; r < r1; r++, p.next()) {
    const int64_t b = p.b, oy = p.oy, ox = p.ox;
    float* dst = cols + (r - r0) * K;
    const int64_t x0 = ox * g.sw - g.pl;
    int64_t lo, hi;
    TapRange(g, x0, &lo, &hi);
    for (int64_t ky = 0; ky < g.kh; ky++, dst += rowLen) {
      const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
      if (iy < 0 || iy >= g.h || hi <= lo) { ZeroRun(dst, rowLen); continue; }
      const float* src = x + ((b * g.h + iy) * g.w) * c;
      if (lo > 0) ZeroRun(dst, lo * c);
      if (g.dw == 1) {
        CopyRun(dst + lo * c, src + (x0 + lo) * c, (hi - lo) * c);
      } else {
        for (int64_t kx = lo; kx < hi; kx++) CopyRun(dst + kx * c, src + (x0 + kx * g.dw) * c, c);
      }
      if (hi < g.kw) ZeroRun(dst + hi * c, (g.kw - hi) * c);
    }
  }
}

// Col2im for any dilation, position by position.
void Col2imGeneric(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.K(), c = g.c, rowLen = g.kw * c;
  Position p(g, r0);
  for (int64_t r = r0; r < r1; r++, p.next()) {
    const int64_t b = p.b, oy = p.oy, ox = p.ox;
    const float* src = cols + (r - r0) * K;
    const int64_t x0 = ox * g.sw - g.pl;
    int64_t lo, hi;
    TapRange(g, x0, &lo, &hi);
    if (hi <= lo) continue;
    for (int64_t ky = 0; ky < g.kh; ky++, src += rowLen) {
      const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      float* row = dx + ((b * g.h + iy) * g.w) * c;
      if (g.dw == 1) {
        AddRun(row + (x0 + lo) * c, src + lo * c, (hi - lo) * c);
      } else {
        for (int64_t kx = lo; kx < hi; kx++) AddRun(row + (x0 + kx * g.dw) * c, src + kx * c, c);
      }
    }
  }
}

// Copies or adds a patch row of N floats (N > 0 known when compiled: fully unrolled; 0: n floats).
template <int N>
inline void CopyLen(float* dst, const float* src, int64_t n) {
  if constexpr (N > 0) {
    for (int i = 0; i < N; i++) dst[i] = src[i];
  } else {
    CopyRun(dst, src, n);
  }
}
template <int N>
inline void AddLen(float* dst, const float* src, int64_t n) {
  if constexpr (N > 0) {
    for (int i = 0; i < N; i++) dst[i] += src[i];
  } else {
    AddRun(dst, src, n);
  }
}

// Without dilation, the patches of one output row (image b, row oy) read kh rows of x, each
// from column -padLeft over padW columns; with those rows copied once into a zero-padded buffer,
// every patch row is one copy of kw*c floats at a fixed stride, with no bounds to check.
inline int64_t PaddedWidth(const ConvGeom& g) { return (g.ow - 1) * g.sw + g.kw; }

// The image columns [jLo, jHi) of a padded row (column j holds image column j - padLeft).
inline void InteriorColumns(const ConvGeom& g, int64_t* jLo, int64_t* jHi) {
  *jLo = std::min<int64_t>(PaddedWidth(g), std::max<int64_t>(0, g.pl));
  *jHi = std::max<int64_t>(*jLo, std::min<int64_t>(PaddedWidth(g), g.pl + g.w));
}

void FillRows(const ConvGeom& g, const float* x, int64_t b, int64_t oy, float* rows) {
  const int64_t c = g.c, padW = PaddedWidth(g);
  int64_t jLo, jHi;
  InteriorColumns(g, &jLo, &jHi);
  for (int64_t ky = 0; ky < g.kh; ky++) {
    float* row = rows + ky * padW * c;
    const int64_t iy = oy * g.sh - g.pt + ky;
    if (iy < 0 || iy >= g.h || jHi == jLo) { ZeroRun(row, padW * c); continue; }
    ZeroRun(row, jLo * c);
    CopyRun(row + jLo * c, x + ((b * g.h + iy) * g.w + (jLo - g.pl)) * c, (jHi - jLo) * c);
    ZeroRun(row + jHi * c, (padW - jHi) * c);
  }
}

template <int N>
void Im2colRows(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols, float* rows) {
  const int64_t K = g.K(), c = g.c, rowLen = g.kw * c, rowStride = PaddedWidth(g) * c, step = g.sw * c;
  Position p(g, r0);
  int64_t filledB = -1, filledOy = -1;
  for (int64_t r = r0; r < r1; r++, p.next()) {
    if (p.b != filledB || p.oy != filledOy) {
      FillRows(g, x, p.b, p.oy, rows);
      filledB = p.b;
      filledOy = p.oy;
    }
    const float* src = rows + p.ox * step;
    float* dst = cols + (r - r0) * K;
    for (int64_t ky = 0; ky < g.kh; ky++) CopyLen<N>(dst + ky * rowLen, src + ky * rowStride, rowLen);
  }
}

// Adds the padded rows of output row (b, oy) onto dx (their image columns only).
void FlushRows(const ConvGeom& g, const float* rows, int64_t b, int64_t oy, float* dx) {
  const int64_t c = g.c, padW = PaddedWidth(g);
  int64_t jLo, jHi;
  InteriorColumns(g, &jLo, &jHi);
  if (jHi == jLo) return;
  for (int64_t ky = 0; ky < g.kh; ky++) {
    const int64_t iy = oy * g.sh - g.pt + ky;
    if (iy < 0 || iy >= g.h) continue;
    AddRun(dx + ((b * g.h + iy) * g.w + (jLo - g.pl)) * c, rows + (ky * padW + jLo) * c, (jHi - jLo) * c);
  }
}

template <int N>
void Col2imRows(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx, float* rows) {
  const int64_t K = g.K(), c = g.c, rowLen = g.kw * c, rowStride = PaddedWidth(g) * c, step = g.sw * c;
  Position p(g, r0);
  int64_t curB = -1, curOy = -1;
  for (int64_t r = r0; r < r1; r++, p.next()) {
    if (p.b != curB || p.oy != curOy) {
      if (curB >= 0) FlushRows(g, rows, curB, curOy, dx);
      ZeroRun(rows, g.kh * rowStride);
      curB = p.b;
      curOy = p.oy;
    }
    float* dst = rows + p.ox * step;
    const float* src = cols + (r - r0) * K;
    for (int64_t ky = 0; ky < g.kh; ky++) AddLen<N>(dst + ky * rowStride, src + ky * rowLen, rowLen);
  }
  if (curB >= 0) FlushRows(g, rows, curB, curOy, dx);
}

// A scratch buffer per thread and slot, kept between calls (fresh pages cost more than the copies).
float* Scratch(int slot, size_t floats) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& buffer = buffers[slot];
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// Calls body with a patch row's length (kw * c floats) as a compile-time constant for the common
// 3, 5, 7 and 9, so that the row copies unroll; with 0 (a run-time length) otherwise.
template <typename Body>
void WithRowWidth(const ConvGeom& g, Body body) {
  switch (g.kw * g.c) {
    case 3: return body(std::integral_constant<int, 3>{});
    case 5: return body(std::integral_constant<int, 5>{});
    case 7: return body(std::integral_constant<int, 7>{});
    case 9: return body(std::integral_constant<int, 9>{});
    default: return body(std::integral_constant<int, 0>{});
  }
}

// The patch rows of output positions [r0, r1) (r = (image * oh + oy) * ow + ox) into cols, one row
// of K values each, zeros where the patch covers padding.
void Im2col(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols) {
  if (g.dh != 1 || g.dw != 1) return Im2colGeneric(g, x, r0, r1, cols);
  float* rows = Scratch(1, static_cast<size_t>(g.kh * PaddedWidth(g) * g.c));
  WithRowWidth(g, [&](auto width) { Im2colRows<decltype(width)::value>(g, x, r0, r1, cols, rows); });
}

// The adjoint of Im2col: adds each patch value of positions [r0, r1) onto its pixel of dx.
void Col2im(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  if (g.dh != 1 || g.dw != 1) return Col2imGeneric(g, cols, r0, r1, dx);
  float* rows = Scratch(1, static_cast<size_t>(g.kh * PaddedWidth(g) * g.c));
  WithRowWidth(g, [&](auto width) { Col2imRows<decltype(width)::value>(g, cols, r0, r1, dx, rows); });
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!Args(env, info, 6, argv, "conv2d(geom, x, filter, bias, relu, out)")) return nullptr;
  ConvGeom g;
  bool relu;
  if (!GetGeom(env, argv[0], &g) || !GetBool(env, argv[4], "relu", &relu)) return nullptr;
  const int64_t K = g.K(), rowsTotal = g.n * g.rowsPerImage();
  float *x, *filter, *out, *bias = nullptr;
  if (!GetFloats(env, argv[1], "x", g.n * g.h * g.w * g.c, &x) || !GetFloats(env, argv[2], "filter", K * g.oc, &filter) ||
      !GetFloats(env, argv[5], "out", rowsTotal * g.oc, &out) || (!IsNull(env, argv[3]) && !GetFloats(env, argv[3], "bias", g.oc, &bias))) {
    return nullptr;
  }
  if (rowsTotal == 0 || g.oc == 0) return nullptr;
  const ConvBlocks plan = PlanBlocks(g);
  const bool direct = g.pointwise();
  ForBlocks(plan.count, rowsTotal * K * g.oc, [&](int64_t block) {
    const int64_t first = block * plan.images * g.rowsPerImage();
    const int64_t last = std::min(g.n, (block + 1) * plan.images) * g.rowsPerImage();
    float* cols = direct ? nullptr : Scratch(0, static_cast<size_t>(plan.rows * K));
    for (int64_t r0 = first; r0 < last; r0 += plan.rows) {
      const int64_t r1 = std::min(last, r0 + plan.rows);
      float* c = out + r0 * g.oc;
      const float* a = direct ? x + r0 * K : cols;
      if (!direct) Im2col(g, x, r0, r1, cols);
      if (K > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(r1 - r0), static_cast<int>(g.oc), static_cast<int>(K),
                    1.0f, a, static_cast<int>(K), filter, static_cast<int>(g.oc), 0.0f, c, static_cast<int>(g.oc));
      } else {
        std::memset(c, 0, sizeof(float) * (r1 - r0) * g.oc);
      }
      if (bias != nullptr || relu) {
        for (int64_t r = 0; r < r1 - r0; r++) {
          float* row = c + r * g.oc;
          if (bias != nullptr) for (int64_t j = 0; j < g.oc; j++) row[j] = row[j] + bias[j];
          if (relu) for (int64_t j = 0; j < g.oc; j++) { const float v = row[j]; row[j] = v > 0.0f ? v : (v != v ? v : 0.0f); }
        }
      }
    }
  });
  return nullptr;
}

napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "conv2dBackpropInput(geom, dy, filter, dx)")) return nullptr;
  ConvGeom g;
  if (!GetGeom(env, argv[0], &g)) return nullptr;
  const int64_t K = g.K(), rowsTotal = g.n * g.rowsPerImage(), imageSize = g.h * g.w * g.c;
  float *dy, *filter, *dx;
  if (!GetFloats(env, argv[1], "dy", rowsTotal * g.oc, &dy) || !GetFloats(env, argv[2], "filter", K * g.oc, &filter) ||
      !GetFloats(env, argv[3], "dx", g.n * imageSize, &dx)) {
    return nullptr;
  }
  if (g.n == 0 || imageSize == 0) return nullptr;
  const ConvBlocks plan = PlanBlocks(g);
  const bool direct = g.pointwise();
  ForBlocks(plan.count, rowsTotal * K * g.oc, [&](int64_t block) {
    const int64_t firstImage = block * plan.images, lastImage = std::min(g.n, (block + 1) * plan.images);
    const int64_t first = firstImage * g.rowsPerImage(), last = lastImage * g.rowsPerImage();
    if (direct) {  // dx = dy . filter^T, row for row
      if (g.oc > 0 && last > first) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(last - first), static_cast<int>(K), static_cast<int>(g.oc),
                    1.0f, dy + first * g.oc, static_cast<int>(g.oc), filter, static_cast<int>(g.oc), 0.0f, dx + first * K, static_cast<int>(K));
      } else {
        std::memset(dx + firstImage * imageSize, 0, sizeof(float) * (lastImage - firstImage) * imageSize);
      }
      return;
    }
    std::memset(dx + firstImage * imageSize, 0, sizeof(float) * (lastImage - firstImage) * imageSize);
    if (g.oc == 0 || K == 0) return;
    float* cols = Scratch(0, static_cast<size_t>(plan.rows * K));
    for (int64_t r0 = first; r0 < last; r0 += plan.rows) {
      const int64_t r1 = std::min(last, r0 + plan.rows);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(r1 - r0), static_cast<int>(K), static_cast<int>(g.oc),
                  1.0f, dy + r0 * g.oc, static_cast<int>(g.oc), filter, static_cast<int>(g.oc), 0.0f, cols, static_cast<int>(K));
      Col2im(g, cols, r0, r1, dx);
    }
  });
  return nullptr;
}

napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "conv2dBackpropFilter(geom, x, dy, dw)")) return nullptr;
  ConvGeom g;
  if (!GetGeom(env, argv[0], &g)) return nullptr;
  const int64_t K = g.K(), rowsTotal = g.n * g.rowsPerImage(), filterSize = K * g.oc;
  float *x, *dy, *dw;
  if (!GetFloats(env, argv[1], "x", g.n * g.h * g.w * g.c, &x) || !GetFloats(env, argv[2], "dy", rowsTotal * g.oc, &dy) ||
      !GetFloats(env, argv[3], "dw", filterSize, &dw)) {
    return nullptr;
  }
  if (filterSize == 0) return nullptr;
  if (rowsTotal == 0) { std::memset(dw, 0, sizeof(float) * filterSize); return nullptr; }
  const ConvBlocks plan = PlanBlocks(g);
  const bool direct = g.pointwise();
  // Each block sums its positions into its own partial; the partials are added in block order.
  std::vector<float> partials(static_cast<size_t>(plan.count > 1 ? plan.count * filterSize : 0));
  ForBlocks(plan.count, rowsTotal * K * g.oc, [&](int64_t block) {
    const int64_t first = block * plan.images * g.rowsPerImage();
    const int64_t last = std::min(g.n, (block + 1) * plan.images) * g.rowsPerImage();
    float* sum = plan.count > 1 ? partials.data() + block * filterSize : dw;
    float* cols = direct ? nullptr : Scratch(0, static_cast<size_t>(plan.rows * K));
    float beta = 0.0f;
    for (int64_t r0 = first; r0 < last; r0 += plan.rows, beta = 1.0f) {
      const int64_t r1 = std::min(last, r0 + plan.rows);
      const float* a = direct ? x + r0 * K : cols;
      if (!direct) Im2col(g, x, r0, r1, cols);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(K), static_cast<int>(g.oc), static_cast<int>(r1 - r0),
                  1.0f, a, static_cast<int>(K), dy + r0 * g.oc, static_cast<int>(g.oc), beta, sum, static_cast<int>(g.oc));
    }
  });
  if (plan.count > 1) {
    std::memcpy(dw, partials.data(), sizeof(float) * filterSize);
    for (int64_t block = 1; block < plan.count; block++) {
      const float* p = partials.data() + block * filterSize;
      for (int64_t i = 0; i < filterSize; i++) dw[i] += p[i];
    }
  }
  return nullptr;
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value result;
#ifdef PACK_OPENBLAS
  napi_create_int32(env, openblas_get_num_threads(), &result);
#else
  napi_create_int32(env, 1, &result);
#endif
  return result;
}

// gatherRows(x, rowSize, indices, out) -> -1, or the position of the first index out of range
// (out is then incomplete). Copies row indices[i] of x (rows of rowSize floats) to row i of out.
napi_value GatherRows(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "gatherRows(x, rowSize, indices, out)")) return nullptr;
  int64_t rowSize, count;
  int32_t* idx;
  if (!GetInt(env, argv[1], "rowSize", &rowSize) || !GetTyped(env, argv[2], "indices", &idx, &count)) return nullptr;
  const int64_t n = FloatsLength(env, argv[0], "x");
  if (n < 0) return nullptr;
  float *x, *out;
  if (!GetFloats(env, argv[0], "x", n, &x) || !GetFloats(env, argv[3], "out", count * rowSize, &out)) return nullptr;
  const int64_t rows = rowSize == 0 ? 0 : n / rowSize;
  int64_t bad = -1;
  for (int64_t i = 0; i < count && bad < 0; i++) if (idx[i] < 0 || idx[i] >= rows) bad = i;
  if (bad < 0 && rowSize > 0) {
    // A shuffled batch's rows lie far apart in memory: asking for the row two ahead while copying
    // this one overlaps their fetches (a 256 x 784 batch: about 105 us instead of 135).
    constexpr int64_t kAhead = 2;
    // Scattered rows wait on memory, not arithmetic: two threads fetch twice as many at once, so the
    // copy is shared from a quarter of the element count the arithmetic loops need.
    constexpr int64_t kScatteredWeight = 4;
    Split(count, count * rowSize * kScatteredWeight, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
#if defined(__GNUC__)
        if (i + kAhead < end) {
          const char* next = reinterpret_cast<const char*>(x + static_cast<int64_t>(idx[i + kAhead]) * rowSize);
          for (int64_t byte = 0; byte < rowSize * 4; byte += 64) __builtin_prefetch(next + byte);
        }
#endif
        std::memcpy(out + i * rowSize, x + static_cast<int64_t>(idx[i]) * rowSize, sizeof(float) * rowSize);
      }
    });
  }
  napi_value result;
  napi_create_int64(env, bad, &result);
  return result;
}

napi_value GetLoopThreads(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_int32(env, static_cast<int32_t>(LoopThreads()), &result);
  return result;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t n = 0;
  if (argc != 1 || !GetInt(env, argv[0], "threads", &n) || n < 1) {
    if (n < 1) Throw(env, "setThreads expects an integer >= 1");
    return nullptr;
  }
#ifdef PACK_OPENBLAS
  openblas_set_num_threads(static_cast<int>(n));
#endif
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value result;
#ifdef PACK_OPENBLAS
  const char* text = openblas_get_config();
  std::string s = text ? text : "OpenBLAS";
#else
  std::string s = "CBLAS";
#endif
  napi_create_string_utf8(env, s.c_str(), s.size(), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reluGrad", nullptr, ReluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"crossEntropyLoss", nullptr, CrossEntropyLoss, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"crossEntropyGrad", nullptr, CrossEntropyGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"loopThreads", nullptr, GetLoopThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
