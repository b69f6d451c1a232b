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
