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
