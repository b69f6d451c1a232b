"""Device choice with availability injected (our machines have no GPU)."""

import pytest

from bookgpt.device import Availability, DeviceError, choose_device


@pytest.mark.parametrize("mps,cuda,expected", [(True, True, "mps"), (True, False, "mps"),
                                               (False, True, "cuda"), (False, False, "cpu")])
def test_auto_prefers_mps_then_cuda_then_cpu(mps, cuda, expected):
    device, reason = choose_device("auto", Availability(mps=mps, cuda=cuda))
    assert device == expected
    assert reason.startswith("auto")


def test_explicit_device_must_be_available():
    assert choose_device("cpu", Availability(False, False))[0] == "cpu"
    assert choose_device("cuda", Availability(False, True))[0] == "cuda"
    with pytest.raises(DeviceError, match="'mps' was requested but is not available"):
        choose_device("mps", Availability(False, True))
    with pytest.raises(DeviceError, match="'cuda' was requested"):
        choose_device("cuda", Availability(True, False))


def test_probe_on_this_machine_matches_what_torch_reports():
    import torch

    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    cuda = torch.cuda.is_available()
    assert Availability.probe() == Availability(mps=mps, cuda=cuda)
    device, reason = choose_device("auto")
    if mps:
        assert (device, reason) == ("mps", "auto: Apple MPS is available")
    elif cuda:
        assert (device, reason) == ("cuda", "auto: no MPS; CUDA is available")
    else:
        assert (device, reason) == ("cpu", "auto: neither MPS nor CUDA is available")


def test_benchmarks_name_the_cpu_and_its_isa(tiny_cfg):
    """What bench train reports beside its figures: the CPU's model and the ISA extensions that
    decide the fast path (AMX, AVX-512 BF16), as /proc/cpuinfo lists them."""
    import json
    from pathlib import Path

    import msgspec

    from bookgpt.bench.train_bench import bench_train
    from bookgpt.train.runtime import ISA_FLAGS, cpu_has_fast_bf16, cpu_info

    info = cpu_info()
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                  if line.startswith("flags")), set())
    assert info["isa"] == [f for f in ISA_FLAGS if f in flags]
    if text:
        assert info["model"] in text
    assert cpu_has_fast_bf16() == bool({"amx_bf16", "avx512_bf16"} & flags)
    cfg = msgspec.structs.replace(tiny_cfg, device="cpu")
    result = bench_train(cfg, steps=2, warmup=1)
    assert json.loads(json.dumps(result))["cpu"] == info and result["tokens_per_s"] > 0


def test_the_quickstart_pretraining_is_compiled_where_compiling_pays():
    """torch.compile pays for its warm-up from COMPILE_MIN_STEPS planned steps: the README main
    job's quickstart pretraining (250 steps) is compiled on a Linux CPU with a C compiler and
    Python's headers (80 s ->
    65 s a book with an empty Inductor cache, 43 s with a warm one), the tests' tiny runs are not,
    and `compile: off` / `on` override either way."""
    import shutil
    import sys
    import sysconfig
    from pathlib import Path

    from bookgpt.config import CONFIG_DIR, load_config
    from bookgpt.train.runtime import COMPILE_MIN_STEPS, use_compile

    quick, tiny = (load_config(CONFIG_DIR / f"{name}.yaml").pretrain for name in ("quickstart",
                                                                                 "tiny"))
    can = (sys.platform == "linux" and shutil.which("cc") is not None
           and (Path(sysconfig.get_path("include")) / "Python.h").is_file())
    assert use_compile("cpu", quick.compile, quick.max_steps) is can
    assert use_compile("cpu", tiny.compile, tiny.max_steps) is False
    assert use_compile("cpu", "off", quick.max_steps) is False
    assert use_compile("cpu", "on", tiny.max_steps) is True
    assert use_compile("mps", "auto", 10_000) is False
    # the planned steps decide where compiling works at all (CUDA: wherever the headers are)
    headers = (Path(sysconfig.get_path("include")) / "Python.h").is_file()
    assert use_compile("cuda", "auto", COMPILE_MIN_STEPS - 1) is False
    assert use_compile("cuda", "auto", COMPILE_MIN_STEPS) is headers
    assert tiny.max_steps < COMPILE_MIN_STEPS <= quick.max_steps
