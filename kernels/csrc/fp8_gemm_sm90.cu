// C entry point of the sm_90a block-scaled FP8 GEMM (see fp8_gemm_sm90.cuh). Build with
//   nvcc -gencode=arch=compute_90a,code=sm_90a -std=c++17 -O3 ...
#include "fp8_gemm_sm90.cuh"

namespace {
// Pipeline depth: 5 stages of (128 + 128) x 128 bytes = 160 KB, 6 of (64 + 128) x 128 = 144 KB, both
// under the 227 KB of shared memory an sm_90 block may use.
constexpr int kStagesM128 = 5;
constexpr int kStagesM64 = 6;
// One math warpgroup for decode-sized M (DeepGEMM's BLOCK_M = 64 for small M).
constexpr int kSmallM = 64;

template <bool kGrouped, typename OutT>
cudaError_t dispatch(const void* a, const float* a_scale, const void* b, const float* b_scale, void* out,
                     const int* m_indices, int M, int N, int K, int G, cudaStream_t stream, char* err, int len) {
  using namespace sciforge_fp8;
  if (M <= kSmallM)
    return launch<64, kStagesM64, kGrouped, OutT>(a, a_scale, b, b_scale, out, m_indices, M, N, K, G, stream, err,
                                                  len);
  return launch<128, kStagesM128, kGrouped, OutT>(a, a_scale, b, b_scale, out, m_indices, M, N, K, G, stream, err,
                                                  len);
}
}  // namespace

// Returns 0 on success, else a CUDA error code with a message in err. Shapes: a [M, K], b [G*N, K] (G = 1
// when m_indices is null), a_scale [M, ceil(K/128)], b_scale [G, ceil(N/128), ceil(K/128)], out [M, N].
// K must be a multiple of 16 (TMA row stride); all pointers 16-byte aligned.
extern "C" int sciforge_fp8_gemm_sm90(const void* a, const float* a_scale, const void* b, const float* b_scale,
                                      void* out, const int* m_indices, int M, int N, int K, int G,
                                      int out_is_bf16, void* stream, char* err, int err_len) {
  if (K % 16 != 0) {
    snprintf(err, err_len, "K=%d must be a multiple of 16 (TMA stride alignment)", K);
    return static_cast<int>(cudaErrorInvalidValue);
  }
  if (M == 0 || N == 0) return 0;
  auto s = static_cast<cudaStream_t>(stream);
  const bool grouped = m_indices != nullptr;
  cudaError_t e;
  if (grouped) {
    e = out_is_bf16 ? dispatch<true, __nv_bfloat16>(a, a_scale, b, b_scale, out, m_indices, M, N, K, G, s, err, err_len)
                    : dispatch<true, float>(a, a_scale, b, b_scale, out, m_indices, M, N, K, G, s, err, err_len);
  } else {
    e = out_is_bf16 ? dispatch<false, __nv_bfloat16>(a, a_scale, b, b_scale, out, nullptr, M, N, K, 1, s, err, err_len)
                    : dispatch<false, float>(a, a_scale, b, b_scale, out, nullptr, M, N, K, 1, s, err, err_len);
  }
  return static_cast<int>(e);
}
