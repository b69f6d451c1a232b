"""Ray resource requests derived from config: CPU shares, fractional CUDA GPUs, the custom `mps`."""

from __future__ import annotations

from bookgpt.config import ClusterConfig


class InfeasibleError(RuntimeError):
    """No node of the cluster can ever satisfy a resource request."""


def _device_resources(device: str, cpus: float, gpus: float, mps: float) -> dict:
    opts: dict = {"num_cpus": cpus}
    if device == "cuda":
        opts["num_gpus"] = gpus or 0.25
    elif device == "mps":
        # Ray does not count an Apple GPU as `GPU`: start the node with --resources='{"mps": 1}'
        opts["resources"] = {"mps": mps or 0.25}
    return opts


def book_actor_options(cfg: ClusterConfig, device: str) -> dict:
    """Options for one BookModelActor on `device`."""
    return _device_resources(device, cfg.actor_num_cpus, cfg.actor_num_gpus, cfg.actor_mps)


def training_task_options(cfg: ClusterConfig, device: str) -> dict:
    """Options for one book's training task: CPUs, memory and a device share."""
    opts = _device_resources(device, cfg.train_num_cpus, cfg.train_num_gpus, cfg.train_mps)
    opts["memory"] = int(cfg.train_memory_gb * 1024**3)
    return opts


def check_feasible(opts: dict, nodes: list[dict], what: str) -> None:
    """Fail fast when no alive node could ever hold `opts` (Ray would wait forever)."""
    need = {"CPU": opts.get("num_cpus", 0), "GPU": opts.get("num_gpus", 0),
            "memory": opts.get("memory", 0), **opts.get("resources", {})}
    need = {k: v for k, v in need.items() if v}
    for node in nodes:
        if node.get("Alive") and all(node["Resources"].get(k, 0) >= v for k, v in need.items()):
            return
    have = [{k: v for k, v in n["Resources"].items() if not k.startswith("node:")}
            for n in nodes if n.get("Alive")]
    raise InfeasibleError(f"{what} asks for {need}, more than any node of the cluster has ({have}); "
                       f"lower the cluster.* settings or add a node with those resources")


def check_capacity(opts: dict, count: int, nodes: list[dict], what: str) -> None:
    """Fail fast when `count` actors of `opts` need more CPUs than the whole cluster has: Ray
    would start some and leave the rest waiting for ever."""
    cpus = opts.get("num_cpus", 0) * count
    have = sum(n["Resources"].get("CPU", 0) for n in nodes if n.get("Alive"))
    if cpus > have:
        share = int(have / count * 100) / 100
        raise InfeasibleError(
            f"{count} {what}s at {opts['num_cpus']:g} CPUs each need {cpus:g} CPUs; the cluster "
            f"has {have:g}. Set cluster.actor_num_cpus to at most {share:g} (e.g. --set "
            f"cluster.actor_num_cpus={share:g}), serve fewer books or add nodes")
