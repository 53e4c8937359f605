// torch binding of the sm_90a FP8 GEMM. Uses only <torch/extension.h> (no c10/cuda headers): the caller
// passes the current CUDA stream as an integer handle, so this file also compiles against a CPU torch.
#include <torch/extension.h>

#include <optional>

extern "C" int sciforge_fp8_gemm_sm90(const void* a, const float* a_scale, const void* b, const float* b_scale,
                                      void* out, const int* m_indices, int M, int N, int K, int G,
                                      int out_is_bf16, void* stream, char* err, int err_len);

namespace {

void check_operand(const torch::Tensor& t, const char* name, at::ScalarType dtype) {
  TORCH_CHECK(t.is_cuda(), name, " must be a CUDA tensor");
  TORCH_CHECK(t.is_contiguous(), name, " must be contiguous");
  TORCH_CHECK(t.scalar_type() == dtype, name, " has dtype ", t.scalar_type(), ", expected ", dtype);
}

// out[M, N] = a[M, K] @ b[(G,) N, K]^T with 1x128 a_scale and 128x128 b_scale; grouped when m_indices given.
torch::Tensor fp8_gemm(const torch::Tensor& a, const torch::Tensor& a_scale, const torch::Tensor& b,
                       const torch::Tensor& b_scale, const std::optional<torch::Tensor>& m_indices, torch::Tensor out,
                       int64_t stream) {
  check_operand(a, "a", at::ScalarType::Float8_e4m3fn);
  check_operand(b, "b", at::ScalarType::Float8_e4m3fn);
  check_operand(a_scale, "a_scale", at::ScalarType::Float);
  check_operand(b_scale, "b_scale", at::ScalarType::Float);
  TORCH_CHECK(out.is_cuda() && out.is_contiguous(), "out must be a contiguous CUDA tensor");
  TORCH_CHECK(out.scalar_type() == at::ScalarType::BFloat16 || out.scalar_type() == at::ScalarType::Float,
              "out must be bfloat16 or float32");
  const bool grouped = m_indices.has_value();
  TORCH_CHECK(a.dim() == 2 && b.dim() == (grouped ? 3 : 2), "bad operand ranks");
  const int64_t M = a.size(0), K = a.size(1), N = b.size(-2), G = grouped ? b.size(0) : 1;
  TORCH_CHECK(b.size(-1) == K, "K mismatch");
  TORCH_CHECK(out.size(0) == M && out.size(1) == N, "out must be [M, N]");
  const int64_t kb = (K + 127) / 128, nb = (N + 127) / 128;
  TORCH_CHECK(a_scale.dim() == 2 && a_scale.size(0) == M && a_scale.size(1) == kb, "a_scale must be [M, ceil(K/128)]");
  TORCH_CHECK(b_scale.numel() == G * nb * kb, "b_scale must be [(G,) ceil(N/128), ceil(K/128)]");
  const int* idx = nullptr;
  if (grouped) {
    check_operand(*m_indices, "m_indices", at::ScalarType::Int);
    TORCH_CHECK(m_indices->numel() == M, "m_indices must have M entries");
    TORCH_CHECK(M % 128 == 0, "grouped M must be a multiple of 128 (contiguous layout alignment)");
    idx = m_indices->data_ptr<int>();
  }
  char err[512] = {0};
  const int rc = sciforge_fp8_gemm_sm90(a.data_ptr(), a_scale.data_ptr<float>(), b.data_ptr(),
                                        b_scale.data_ptr<float>(), out.data_ptr(), idx, static_cast<int>(M),
                                        static_cast<int>(N), static_cast<int>(K), static_cast<int>(G),
                                        out.scalar_type() == at::ScalarType::BFloat16 ? 1 : 0,
                                        reinterpret_cast<void*>(stream), err, sizeof(err));
  TORCH_CHECK(rc == 0, "sciforge_fp8_gemm_sm90 failed: ", err);
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("fp8_gemm", &fp8_gemm, "block-scaled FP8 GEMM (sm_90a, TMA + wgmma)", py::arg("a"), py::arg("a_scale"),
        py::arg("b"), py::arg("b_scale"), py::arg("m_indices"), py::arg("out"), py::arg("stream"));
}
