"""Per-device runtime choices: autocast dtype, whether torch.compile pays, thread counts, seeds."""

from __future__ import annotations

import contextlib
import ctypes
import platform
import random
import shutil
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch


ISA_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2")  # what a benchmark reports


@lru_cache(maxsize=1)
def cpu_info() -> dict[str, object]:
    """The CPU's model name and which of ISA_FLAGS it has (from /proc/cpuinfo; elsewhere the
    platform's processor string and no flags), for benchmarks to print beside their figures."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {"model": model, "isa": [f for f in ISA_FLAGS if f in flags]}


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matmul (AVX-512 BF16 or AMX): there bf16 autocast is faster."""
    if platform.machine().lower() in ("arm64", "aarch64") and sys.platform == "darwin":
        return False  # Apple CPUs: the MPS device is the fast path, not CPU bf16
    return bool({"avx512_bf16", "amx_bf16"} & set(cpu_info()["isa"]))


def autocast_dtype(device: str, requested: str) -> torch.dtype | None:
    """bf16 where the device does it fast, else None (plain fp32). `requested` is auto/bf16/fp32."""
    if requested == "fp32":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device == "mps":
        return torch.bfloat16
    return torch.bfloat16 if cpu_has_fast_bf16() else None


def autocast(device: str, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=dtype)


# planned steps from which torch.compile pays for its warm-up. Quickstart's pretraining (4 x 128,
# batch 16 x 256, 250 steps) on an AMD EPYC (2 cores): eager 80 s (13,252 tokens/s); compiled 65 s
# with an empty Inductor cache (~22 s of compiling, then 26,600 tokens/s) and 43 s with the cache
# a first book leaves for the next of the same shape: the break-even is ~150 steps cold, and
# larger models gain more per step
COMPILE_MIN_STEPS = 150


@lru_cache(maxsize=1)
def _python_headers() -> bool:
    return (Path(sysconfig.get_path("include")) / "Python.h").is_file()


def use_compile(device: str, requested: str, planned_steps: int) -> bool:
    """torch.compile where it works and its warm-up pays back: CUDA, or Linux CPU with a C
    compiler, with Python's headers (Inductor's CPU kernels and Triton's launchers build against
    Python.h), for runs of COMPILE_MIN_STEPS steps or more. Off on MPS (partial support)."""
    if requested == "on":
        return True
    if requested == "off" or device == "mps" or not _python_headers():
        return False
    if device == "cpu" and (sys.platform != "linux" or shutil.which("cc") is None):
        return False
    return planned_steps >= COMPILE_MIN_STEPS


# glibc's mallopt parameters, and the trim threshold it takes as "never give memory back"
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_NEVER = 2**31 - 1


@lru_cache(maxsize=1)
def reuse_freed_memory() -> bool:
    """Keep the memory a training step frees for the next step's tensors (Linux with glibc; a
    no-op elsewhere, and False when it is not done). By default glibc maps every allocation over
    a few MB afresh and unmaps it when freed, so each step's activations page-fault again: on a
    Xeon with AMX (2 cores, default shape) 72,000-80,000 minor faults and 0.12-0.14 s of kernel
    time a step; served from the heap and never trimmed, 0 faults and 1.08-1.12x tokens/s, in
    four runs, with the same peak memory. The process keeps what it freed, which its next step
    needs anyway."""
    if sys.platform != "linux":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or one without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER))


def set_threads(num_cpus: float | None) -> None:
    """Ray reuses worker processes, so every task sets its own torch thread count."""
    if num_cpus:
        torch.set_num_threads(max(1, int(num_cpus)))


def device_rng(device: str) -> torch.Tensor | None:
    """The accelerator's random state (dropout draws there on CUDA and MPS), None on the CPU."""
    if str(device).startswith("cuda"):
        return torch.cuda.get_rng_state(torch.device(device))
    if str(device).startswith("mps"):
        return torch.mps.get_rng_state()
    return None


def set_device_rng(device: str, state: torch.Tensor | None) -> None:
    """Restore device_rng()'s state; a checkpoint from another kind of device has none to restore."""
    if state is None:
        return
    if str(device).startswith("cuda"):
        torch.cuda.set_rng_state(state, torch.device(device))
    elif str(device).startswith("mps"):
        torch.mps.set_rng_state(state)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def attention_block(device: str, requested: int) -> int:
    """Query-block size for training attention. Blocked plain matmuls skip the masked half and beat
    SDPA's CPU kernel at small head sizes (and SDPA with dropout falls back to a slow path there):
    measured 8,700 vs 2,500 tokens/s at the default shape. SDPA stays the choice on CUDA."""
    if requested >= 0:
        return requested
    return 0 if device == "cuda" else 128
