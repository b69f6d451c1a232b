"""Device choice: `auto` = Apple MPS, else CUDA, else CPU, with the reason; explicit choices are checked."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The configured device is not available on this machine."""


@dataclass(frozen=True)
class Availability:
    mps: bool
    cuda: bool

    @staticmethod
    def probe() -> "Availability":
        import torch

        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        return Availability(mps=mps, cuda=torch.cuda.is_available())


def choose_device(requested: str, available: Availability | None = None) -> tuple[str, str]:
    """Return (device, reason). `available` is injectable so the decision is testable anywhere."""
    available = available or Availability.probe()
    if requested == "auto":
        if available.mps:
            return "mps", "auto: Apple MPS is available"
        if available.cuda:
            return "cuda", "auto: no MPS; CUDA is available"
        return "cpu", "auto: neither MPS nor CUDA is available"
    if requested == "cpu":
        return "cpu", "configured: cpu"
    if requested in ("mps", "cuda"):
        if getattr(available, requested):
            return requested, f"configured: {requested}"
        raise DeviceError(f"device '{requested}' was requested but is not available on this machine; "
                          f"use --set device=auto (picks MPS, then CUDA, then CPU) or device=cpu")
    raise DeviceError(f"unknown device '{requested}'; use auto, mps, cuda or cpu")


def resolve_device(requested: str) -> str:
    """Choose the device and log why."""
    device, reason = choose_device(requested)
    log.info("device %s (%s)", device, reason)
    return device
