// Block-scaled FP8 GEMM for Hopper (sm_90a): TMA loads, wgmma (e4m3 x e4m3 -> f32), mbarrier pipeline,
// warp specialization (one producer warpgroup issuing TMA, one or two math warpgroups), FP32 promotion.
//
//   C[M, N] = A[M, K] * B[N, K]^T   (both operands K-major, "NT" as DeepGEMM)
//   A scaled per 1x128 tile:   a_scale[M, ceil(K/128)]           (row-major, FP32)
//   B scaled per 128x128 block: b_scale[G][ceil(N/128), ceil(K/128)] (row-major, FP32)
//
// Every 128-wide K block runs 4 wgmma k32 steps into a fresh accumulator; it is then multiplied by
// a_scale[row] * b_scale and added to a second FP32 accumulator in registers (DeepSeek-V3 Sec. 3.3.2:
// "increasing accumulation precision"; DeepGEMM's promotion scheme). Grouped (MoE) mode: B holds G
// experts stacked as [G*N, K]; row m of A uses expert m_indices[m], each expert's rows start on a
// 128-row boundary (contiguous layout), rows with index -1 are padding and come out as zeros.
//
// Pure CUDA (no torch headers) so that CI compiles it with nvcc on machines without a GPU;
// fp8_gemm_binding.cpp wraps the C entry point for torch.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>
#include <stdint.h>
#include <stdio.h>

namespace sciforge_fp8 {

constexpr int kBlockK = 128;       // = the scale granularity: one promotion per 128 K elements
constexpr int kBlockN = 128;       // = the weight block: one B scale per tile and K block
constexpr int kWgmmaK = 32;        // K of one e4m3 wgmma
constexpr int kWarpgroup = 128;    // threads in a warpgroup
constexpr int kSwizzleAlign = 1024;  // 128B-swizzled tiles: 8 rows x 128 bytes per swizzle atom
constexpr int kGroupM = 16;        // CTAs along M sharing a B tile in L2 (rasterization)
constexpr int kProducerRegs = 40;  // setmaxnreg budget: producer warpgroup (DeepGEMM's split)
constexpr int kMathRegs = 232;     // setmaxnreg budget: each math warpgroup
constexpr int kMaxDevices = 64;    // devices whose shared-memory attribute is remembered (others: set per call)

// ---------------------------------------------------------------------------------------------
// PTX wrappers
// ---------------------------------------------------------------------------------------------
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count));
}

__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes)
               : "memory");
}

__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
}

__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n"
        "}\n"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(parity)
        : "memory");
  } while (!done);
}

__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, uint64_t* bar, int32_t c0,
                                            int32_t c1) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
      ::"r"(smem_addr(dst)), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smem_addr(bar))
      : "memory");
}

__device__ __forceinline__ void prefetch_tensormap(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

// Shared-memory matrix descriptor for a K-major tile with 128-byte swizzle: rows of 128 bytes,
// 8-row swizzle atoms 1024 bytes apart (stride byte offset); the leading byte offset is unused for
// swizzled K-major layouts. Advancing along K inside the atom adds bytes to the start address.
__device__ __forceinline__ uint64_t smem_desc_k_major_sw128(const void* tile) {
  const uint64_t addr = smem_addr(tile);
  uint64_t desc = (addr & 0x3FFFF) >> 4;             // bits 0-13: start address >> 4
  desc |= static_cast<uint64_t>(16 >> 4) << 16;      // bits 16-29: leading byte offset >> 4
  desc |= static_cast<uint64_t>(1024 >> 4) << 32;    // bits 32-45: stride byte offset >> 4
  desc |= static_cast<uint64_t>(1) << 62;            // bits 62-63: 1 = 128-byte swizzle
  return desc;
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }

// Tie accumulator registers to program order around asynchronous wgmma (CUTLASS's warpgroup_fence_operand).
template <int N>
__device__ __forceinline__ void fence_regs(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

template <uint32_t kRegs>
__device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}
template <uint32_t kRegs>
__device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}

// D[64x128] (+)= A[64x32] * B[128x32]^T, both e4m3 K-major in shared memory, FP32 accumulators.
// scale_d == 0 overwrites D (first K slice of a 128-wide block), 1 accumulates.
__device__ __forceinline__ void wgmma_m64n128k32_e4m3(float (&d)[64], uint64_t desc_a, uint64_t desc_b,
                                                      uint32_t scale_d) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, p, 1, 1;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// ---------------------------------------------------------------------------------------------
// The kernel
// ---------------------------------------------------------------------------------------------
// Grouped-M rasterization: kGroupM consecutive CTAs walk down M on one B tile, so it stays in L2.
__device__ __forceinline__ void tile_coords(int tile, int num_m, int num_n, int& m_block, int& n_block) {
  const int group_size = kGroupM * num_n;
  const int first_m = (tile / group_size) * kGroupM;
  const int rows = min(num_m - first_m, kGroupM);
  m_block = first_m + (tile % group_size) % rows;
  n_block = (tile % group_size) / rows;
}

template <typename OutT>
__device__ __forceinline__ OutT from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <typename OutT>
__device__ __forceinline__ void store_pair(OutT* out, int64_t row, int col, int N, float v0, float v1) {
  OutT* p = out + row * N + col;
  if (col + 1 < N && (reinterpret_cast<uintptr_t>(p) % (2 * sizeof(OutT))) == 0) {
    if constexpr (sizeof(OutT) == 2) {
      *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(v0, v1);
    } else {
      *reinterpret_cast<float2*>(p) = make_float2(v0, v1);
    }
  } else {
    if (col < N) p[0] = from_float<OutT>(v0);
    if (col + 1 < N) p[1] = from_float<OutT>(v1);
  }
}

template <int kBlockM, int kStages>
struct SmemLayout {
  static constexpr uint32_t kTileA = kBlockM * kBlockK;  // bytes (fp8)
  static constexpr uint32_t kTileB = kBlockN * kBlockK;
  static constexpr size_t kBytes =
      kSwizzleAlign + static_cast<size_t>(kStages) * (kTileA + kTileB) + 2 * kStages * sizeof(uint64_t);
};

template <int kBlockM, int kStages, bool kGrouped, typename OutT>
__global__ void __launch_bounds__((kBlockM / 64 + 1) * kWarpgroup, 1)
    fp8_gemm_kernel(const __grid_constant__ CUtensorMap tmap_a, const __grid_constant__ CUtensorMap tmap_b,
                    const float* __restrict__ a_scale, const float* __restrict__ b_scale,
                    OutT* __restrict__ out, const int* __restrict__ m_indices, int M, int N, int K) {
  static_assert(kBlockM == 64 || kBlockM == 128, "one or two math warpgroups of 64 rows");
  constexpr int kMathWarpgroups = kBlockM / 64;
  constexpr int kMathThreads = kMathWarpgroups * kWarpgroup;
  using Layout = SmemLayout<kBlockM, kStages>;

  extern __shared__ uint8_t smem_raw[];
  // 128B-swizzled TMA tiles need 1024-byte alignment; dynamic shared memory only guarantees 16.
  uint8_t* smem = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(smem_raw) + kSwizzleAlign - 1) & ~static_cast<uintptr_t>(kSwizzleAlign - 1));
  uint8_t* smem_a = smem;
  uint8_t* smem_b = smem + kStages * Layout::kTileA;
  uint64_t* full_bar = reinterpret_cast<uint64_t*>(smem_b + kStages * Layout::kTileB);
  uint64_t* empty_bar = full_bar + kStages;

  const int k_blocks = (K + kBlockK - 1) / kBlockK;
  const int num_m = (M + kBlockM - 1) / kBlockM;
  const int num_n = (N + kBlockN - 1) / kBlockN;
  int m_block, n_block;
  tile_coords(blockIdx.x, num_m, num_n, m_block, n_block);
  const int warpgroup = threadIdx.x / kWarpgroup;
  const int tid = threadIdx.x % kWarpgroup;

  int expert = 0;
  if constexpr (kGrouped) {
    expert = m_indices[m_block * kBlockM];
    if (expert < 0) {  // a tile of alignment padding: write zeros (uniform exit, before any barrier)
      for (int i = threadIdx.x; i < kBlockM * kBlockN; i += blockDim.x) {
        const int row = m_block * kBlockM + i / kBlockN, col = n_block * kBlockN + i % kBlockN;
        if (row < M && col < N) out[static_cast<int64_t>(row) * N + col] = from_float<OutT>(0.f);
      }
      return;
    }
  }

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < kStages; ++s) {
      mbar_init(&full_bar[s], 1);
      mbar_init(&empty_bar[s], kMathThreads);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (warpgroup == kMathWarpgroups) {
    // ---------------- producer warpgroup: one thread issues the TMA loads ----------------
    if constexpr (kMathWarpgroups > 1) setmaxnreg_dec<kProducerRegs>();
    if (tid == 0) {
      prefetch_tensormap(&tmap_a);
      prefetch_tensormap(&tmap_b);
      const int b_row = expert * N + n_block * kBlockN;
      for (int kb = 0; kb < k_blocks; ++kb) {
        const int s = kb % kStages;
        if (kb >= kStages) mbar_wait(&empty_bar[s], ((kb / kStages) & 1) ^ 1);
        mbar_expect_tx(&full_bar[s], Layout::kTileA + Layout::kTileB);
        tma_load_2d(smem_a + s * Layout::kTileA, &tmap_a, &full_bar[s], kb * kBlockK, m_block * kBlockM);
        tma_load_2d(smem_b + s * Layout::kTileB, &tmap_b, &full_bar[s], kb * kBlockK, b_row);
      }
    }
  } else {
    // ---------------- math warpgroups: 64 rows each ----------------
    if constexpr (kMathWarpgroups > 1) setmaxnreg_inc<kMathRegs>();
    const int warp = tid / 32, lane = tid % 32;
    const int row0 = m_block * kBlockM + warpgroup * 64 + warp * 16 + lane / 4;  // accumulator rows
    const int row1 = row0 + 8;
    const bool in0 = row0 < M, in1 = row1 < M;
    const float* a_s0 = a_scale + static_cast<int64_t>(in0 ? row0 : 0) * k_blocks;
    const float* a_s1 = a_scale + static_cast<int64_t>(in1 ? row1 : 0) * k_blocks;
    const float* b_s = b_scale + (static_cast<int64_t>(expert) * num_n + n_block) * k_blocks;

    float result[64];
    float acc[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) result[i] = acc[i] = 0.f;

    for (int kb = 0; kb < k_blocks; ++kb) {
      const int s = kb % kStages;
      // Scales first: their global-load latency overlaps the barrier wait and the tensor-core work.
      const float sa0 = in0 ? __ldg(a_s0 + kb) : 0.f;
      const float sa1 = in1 ? __ldg(a_s1 + kb) : 0.f;
      const float sb = __ldg(b_s + kb);
      mbar_wait(&full_bar[s], (kb / kStages) & 1);
      const uint8_t* tile_a = smem_a + s * Layout::kTileA + warpgroup * 64 * kBlockK;
      const uint8_t* tile_b = smem_b + s * Layout::kTileB;
      fence_regs(acc);
      wgmma_fence();
#pragma unroll
      for (int k = 0; k < kBlockK / kWgmmaK; ++k) {
        wgmma_m64n128k32_e4m3(acc, smem_desc_k_major_sw128(tile_a + k * kWgmmaK),
                              smem_desc_k_major_sw128(tile_b + k * kWgmmaK), k > 0 ? 1u : 0u);
      }
      wgmma_commit();
      fence_regs(acc);
      wgmma_wait_all();
      fence_regs(acc);
      mbar_arrive(&empty_bar[s]);  // the stage's shared memory may be refilled
      const float s0 = sa0 * sb, s1 = sa1 * sb;
#pragma unroll
      for (int i = 0; i < 64; ++i) result[i] += ((i & 2) ? s1 : s0) * acc[i];
    }

    bool keep0 = in0, keep1 = in1;
    if constexpr (kGrouped) {
      keep0 = in0 && m_indices[row0] >= 0;
      keep1 = in1 && m_indices[row1] >= 0;
    }
    // wgmma D fragment: register 4j+{0,1} -> (row0, 8j + 2*(lane%4) + {0,1}); 4j+{2,3} -> row1.
#pragma unroll
    for (int j = 0; j < kBlockN / 8; ++j) {
      const int col = n_block * kBlockN + j * 8 + (lane % 4) * 2;
      if (col >= N) continue;
      if (in0) store_pair(out, row0, col, N, keep0 ? result[4 * j] : 0.f, keep0 ? result[4 * j + 1] : 0.f);
      if (in1) store_pair(out, row1, col, N, keep1 ? result[4 * j + 2] : 0.f, keep1 ? result[4 * j + 3] : 0.f);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------------------------
inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  // Through the runtime's driver entry point, so the extension does not link libcuda directly.
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  if (fn == nullptr) {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult query;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &query) ==
            cudaSuccess &&
        query == cudaDriverEntryPointSuccess) {
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
    }
  }
  return fn;
}

// A row-major [rows, k] FP8 matrix as a TMA map with [box_rows, 128] boxes, 128B swizzle, zero fill.
inline CUresult make_tensor_map(CUtensorMap* map, const void* ptr, uint64_t rows, uint64_t k, uint32_t box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  cuuint64_t dims[2] = {k, rows};
  cuuint64_t strides[1] = {k};  // bytes between rows (fp8: one byte per element)
  cuuint32_t box[2] = {static_cast<cuuint32_t>(kBlockK), box_rows};
  cuuint32_t elem_strides[2] = {1, 1};
  return encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(ptr), dims, strides, box, elem_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

template <int kBlockM, int kStages, bool kGrouped, typename OutT>
cudaError_t launch(const void* a, const float* a_scale, const void* b, const float* b_scale, void* out,
                   const int* m_indices, int M, int N, int K, int G, cudaStream_t stream, char* err, int err_len) {
  CUtensorMap tmap_a, tmap_b;
  CUresult r = make_tensor_map(&tmap_a, a, static_cast<uint64_t>(M), static_cast<uint64_t>(K), kBlockM);
  if (r == CUDA_SUCCESS)
    r = make_tensor_map(&tmap_b, b, static_cast<uint64_t>(G) * N, static_cast<uint64_t>(K), kBlockN);
  if (r != CUDA_SUCCESS) {
    snprintf(err, err_len, "cuTensorMapEncodeTiled failed (CUresult %d)", static_cast<int>(r));
    return cudaErrorInvalidValue;
  }
  auto kernel = fp8_gemm_kernel<kBlockM, kStages, kGrouped, OutT>;
  constexpr size_t smem = SmemLayout<kBlockM, kStages>::kBytes;
  // Raise the dynamic shared-memory limit once per instantiation and device.
  static bool smem_configured[kMaxDevices] = {false};
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess && (device >= kMaxDevices || !smem_configured[device])) {
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e == cudaSuccess && device < kMaxDevices) smem_configured[device] = true;
  }
  if (e != cudaSuccess) {
    snprintf(err, err_len, "cudaFuncSetAttribute(%zu bytes of shared memory): %s", smem, cudaGetErrorString(e));
    return e;
  }
  const int tiles = ((M + kBlockM - 1) / kBlockM) * ((N + kBlockN - 1) / kBlockN);
  const int threads = (kBlockM / 64 + 1) * kWarpgroup;
  kernel<<<tiles, threads, smem, stream>>>(tmap_a, tmap_b, a_scale, b_scale, static_cast<OutT*>(out), m_indices,
                                           M, N, K);
  e = cudaGetLastError();
  if (e != cudaSuccess) snprintf(err, err_len, "kernel launch: %s", cudaGetErrorString(e));
  return e;
}

}  // namespace sciforge_fp8
