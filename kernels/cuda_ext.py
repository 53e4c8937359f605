"""Build and call the CUDA C++ sm_90a FP8 GEMM (``kernels/csrc``).

On a Hopper machine the extension is JIT-built once with ``torch.utils.cpp_extension.load`` (cached in
torch's extension dir). Without a CUDA torch it cannot be built; :func:`nvcc_compile` still compiles the
kernel source to a cubin with nvcc so that CI checks it (``-gencode=arch=compute_90a,code=sm_90a``).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import torch

from sciforge.kernels.constants import QUANT_BLOCK, TMA_STRIDE_ALIGN_BYTES
from sciforge.kernels.quant import ceil_div, is_row_scaled
from sciforge.kernels.reference import check_gemm_operands

log = logging.getLogger(__name__)

CSRC = Path(__file__).resolve().parent / "csrc"
KERNEL_SOURCE = CSRC / "fp8_gemm_sm90.cu"
BINDING_SOURCE = CSRC / "fp8_gemm_binding.cpp"
EXTENSION_NAME = "sciforge_fp8_gemm_sm90"
# wgmma and setmaxnreg exist only on the arch-specific sm_90a target (PTX ISA); "-arch=sm_90a" shorthand
# also runs a plain sm_90 pass on some nvcc versions, so the -gencode form is used.
NVCC_ARCH_FLAGS = ["-gencode=arch=compute_90a,code=sm_90a"]
NVCC_FLAGS = [*NVCC_ARCH_FLAGS, "-std=c++17", "-O3", "--expt-relaxed-constexpr"]
# Set to 0 to never build or use the CUDA extension (the dispatcher then uses Triton).
ENV_ENABLE = "SCIFORGE_FP8_CUDA_EXT"


def find_nvcc() -> str | None:
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if cuda_home and (Path(cuda_home) / "bin" / "nvcc").exists():
        return str(Path(cuda_home) / "bin" / "nvcc")
    return shutil.which("nvcc")


def torch_nvcc_defines() -> list[str]:
    """The defines torch.utils.cpp_extension adds to every nvcc call (no implicit half/bf16 conversions)."""
    try:
        from torch.utils.cpp_extension import COMMON_NVCC_FLAGS

        return list(COMMON_NVCC_FLAGS)
    except ImportError:  # pragma: no cover - private constant moved
        return []


def nvcc_compile(out_dir: Path, fmt: str = "o", extra: list[str] | None = None) -> tuple[Path, str]:
    """Compile the kernel source (no torch headers) with nvcc and torch's extension defines.

    ``fmt``: "o" (host + device object, as the extension build does), "cubin" or "ptx" (device code only).
    Returns (output file, nvcc's log).
    """
    nvcc = find_nvcc()
    if nvcc is None:
        raise FileNotFoundError("nvcc not found (set CUDA_HOME or put nvcc on PATH)")
    out = Path(out_dir) / f"fp8_gemm_sm90.{fmt}"
    mode = "-c" if fmt == "o" else f"-{fmt}"
    flags = [*NVCC_FLAGS, *(f for f in torch_nvcc_defines() if f not in NVCC_FLAGS)]
    cmd = [nvcc, *flags, mode, "-o", str(out), str(KERNEL_SOURCE), *(extra or [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nvcc failed ({' '.join(cmd)}):\n{proc.stderr}")
    return out, proc.stderr


def hopper_available(device: torch.device | None = None) -> bool:
    return torch.cuda.is_available() and torch.cuda.get_device_capability(device) == (9, 0)


@functools.lru_cache(maxsize=1)
def load_extension(verbose: bool = False) -> ModuleType:
    """JIT-build (first call) and import the extension. Needs a CUDA build of torch and nvcc."""
    if os.environ.get(ENV_ENABLE, "1") == "0":
        raise RuntimeError(f"disabled by {ENV_ENABLE}=0")
    if torch.version.cuda is None:
        raise RuntimeError("this torch has no CUDA support; the extension needs a CUDA torch")
    from torch.utils.cpp_extension import load

    log.info("loading the sm_90a FP8 GEMM extension (built on first use, ~1-2 min; cached afterwards)")
    return load(
        name=EXTENSION_NAME,
        sources=[str(BINDING_SOURCE), str(KERNEL_SOURCE)],
        # No -std here: torch's build flags choose the C++ standard its headers need.
        extra_cuda_cflags=[*NVCC_ARCH_FLAGS, "-O3", "--expt-relaxed-constexpr"],
        extra_cflags=["-O3"],
        verbose=verbose,
    )


def cuda_ext_usable(device: torch.device) -> tuple[bool, str]:
    """Whether the extension can run on ``device``, and why not."""
    if device.type != "cuda":
        return False, "not a CUDA tensor"
    if not hopper_available(device):
        return False, "needs an sm_90 (Hopper) GPU"
    try:
        load_extension()
    except Exception as exc:  # build failures must not take the training run down: Triton takes over
        return False, f"extension unavailable: {exc}"
    return True, ""


def supports(
    a: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor, grouped: bool = False
) -> tuple[bool, str]:
    """Shape/layout limits of the CUDA kernel (the Triton kernel covers the rest)."""
    k = a.shape[1]
    if k % TMA_STRIDE_ALIGN_BYTES != 0:
        return False, f"K={k} is not a multiple of {TMA_STRIDE_ALIGN_BYTES}"
    if not grouped and is_row_scaled(b_scale, b.shape[0]):
        return False, "per-row (1x128) B scales are not implemented in the CUDA kernel"
    if grouped and a.shape[0] % QUANT_BLOCK != 0:
        return False, "grouped M must be a multiple of 128"
    return True, ""


def _call(a, a_scale, b, b_scale, m_indices, out_dtype) -> torch.Tensor:  # type: ignore[no-untyped-def]
    ext = load_extension()
    out = torch.empty(a.shape[0], b.shape[-2], dtype=out_dtype, device=a.device)
    if a.shape[1] == 0:
        return out.zero_()
    stream = torch.cuda.current_stream(a.device).cuda_stream
    ext.fp8_gemm(
        a.contiguous(), a_scale.contiguous(), b.contiguous(), b_scale.contiguous(), m_indices, out, stream
    )
    return out


def fp8_gemm_cuda(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    check_gemm_operands(a, a_scale, b, b_scale)
    ok, why = supports(a, b, b_scale)
    if not ok:
        raise ValueError(why)
    if b_scale.shape[0] != ceil_div(b.shape[0], QUANT_BLOCK):
        raise ValueError("b_scale must be per 128x128 block")
    return _call(a, a_scale, b, b_scale, None, out_dtype)


def fp8_grouped_gemm_cuda(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    m_indices: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    check_gemm_operands(a, a_scale, b, b_scale, grouped=True)
    ok, why = supports(a, b, b_scale, grouped=True)
    if not ok:
        raise ValueError(why)
    return _call(a, a_scale, b, b_scale, m_indices.to(torch.int32).contiguous(), out_dtype)
