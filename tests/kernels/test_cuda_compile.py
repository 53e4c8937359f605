"""The CUDA C++ sm_90a kernel compiles with nvcc and its machine code uses the Hopper FP8 paths.

No GPU is needed: nvcc builds the object file; cuobjdump (from nvcc's toolkit or Triton's bundle) shows the SASS.
Real launches happen on a Hopper machine through sciforge.kernels.cuda_ext.load_extension (bench/fp8_gemm.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import torch

from sciforge.kernels import cuda_ext

pytestmark = pytest.mark.skipif(
    cuda_ext.find_nvcc() is None,
    reason="nvcc not found (CUDA toolkit missing): cannot compile the .cu source",
)


def _cuobjdump() -> str | None:
    found = shutil.which("cuobjdump")
    if found:
        return found
    try:
        import triton

        bundled = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
        return str(bundled) if bundled.exists() else None
    except ImportError:
        return None


def test_nvcc_builds_sm90a_kernel_with_wgmma_tma_setmaxnreg_and_no_spills(tmp_path: Path) -> None:
    ptx = cuda_ext.nvcc_compile(tmp_path, fmt="ptx")[0].read_text()
    assert ".target sm_90a" in ptx
    assert "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3" in ptx
    assert "cp.async.bulk.tensor.2d" in ptx and "setmaxnreg" in ptx
    # host + device object with torch's extension defines, as torch.utils.cpp_extension.load builds it
    obj, log = cuda_ext.nvcc_compile(tmp_path, fmt="o", extra=["-Xptxas", "-v"])
    spills = re.findall(r"(\d+) bytes spill stores", log)
    assert spills and all(s == "0" for s in spills), log
    assert "C7508" not in log, "ptxas ignored setmaxnreg"
    tool = _cuobjdump()
    if tool is None:
        pytest.skip("no cuobjdump to disassemble the cubin")
    sass = subprocess.run([tool, "--dump-sass", str(obj)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"QGMMA\.64x128x32\.F32\.E4M3\.E4M3", sass), "no FP8 tensor-core (QGMMA) instructions"
    assert "UTMALDG" in sass, "no TMA loads"
    # 8 instantiations: BLOCK_M {64, 128} x {dense, grouped} x {bf16, fp32 out}
    assert len(re.findall(r"Function : \S*fp8_gemm_kernel", sass)) == 8


@pytest.mark.slow
def test_torch_binding_compiles_against_torch_headers(tmp_path: Path) -> None:
    # The binding avoids c10/cuda headers, so it compiles even against a CPU torch (~1-2 min: torch headers).
    cxx = shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    from torch.utils.cpp_extension import include_paths

    includes = [f"-I{p}" for p in include_paths()] + [f"-I{sysconfig.get_paths()['include']}"]
    std = "-std=c++20" if tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 10) else "-std=c++17"
    proc = subprocess.run(
        [cxx, std, "-fsyntax-only", *includes, "-DTORCH_EXTENSION_NAME=sciforge_fp8_gemm_sm90",
         str(cuda_ext.BINDING_SOURCE)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
