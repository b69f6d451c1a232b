"""`bookgpt bench train`: tokens/s of full training steps, FLOPs per token and MFU vs measured peaks."""

from __future__ import annotations

import time

import torch

from bookgpt.config import Config
from bookgpt.device import resolve_device
from bookgpt.train.pretrain import measure_matmul_peak
from bookgpt.train.runtime import (attention_block, autocast, autocast_dtype, cpu_info,
                                   reuse_freed_memory, seed_everything, use_compile)


SLOW_GFLOPS = 20.0  # a dtype's matmuls slower than this are measured at one small size only


def matmul_peaks(device: str, model_width: int, rows: int) -> dict[str, float]:
    """Best GFLOP/s of bf16 and fp32 matmuls: square 1024 and 2048 and the model's own (rows x C x
    4C) shape; a dtype the CPU only emulates, at 1024 alone."""
    out = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        best = measure_matmul_peak(dtype, device, n=1024, seconds=0.6)
        if best < SLOW_GFLOPS * 1e9:  # emulated (bf16 without AVX-512 BF16 or AMX): a larger
            out[name] = best / 1e9  # size only takes long (~40 s a run at 1 GFLOP/s)
            continue
        best = max(best, measure_matmul_peak(dtype, device, n=2048, seconds=0.6))
        a = torch.randn(rows, model_width, dtype=dtype, device=device)
        b = torch.randn(model_width, 4 * model_width, dtype=dtype, device=device)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.6:
            a @ b
            reps += 1
        best = max(best, 2 * rows * model_width * 4 * model_width * reps / (time.perf_counter() - start))
        out[name] = best / 1e9
    return out


def bench_train(cfg: Config, steps: int = 20, warmup: int = 3, reuse_memory: bool = True) -> dict:
    from bookgpt.model import GPT

    device = resolve_device(cfg.device)
    reused = reuse_memory and device == "cpu" and reuse_freed_memory()  # as training does
    p, m = cfg.pretrain, cfg.model
    vocab = cfg.tokenizer.vocab_size
    rows = p.batch_size * m.context_length
    peaks = matmul_peaks(device, m.n_embd, rows)
    seed_everything(p.seed)
    model = GPT(m, vocab, attn_block=attention_block(device, p.attn_block)).to(device)
    amp = autocast_dtype(device, p.dtype)
    compiled = use_compile(device, p.compile, planned_steps=10**6)  # as a real, long run decides
    if compiled:
        model.compile_blocks()
    opt = model.configure_optimizer(p.weight_decay, p.learning_rate, (p.beta1, p.beta2), device)
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, vocab, (warmup + steps, p.batch_size, m.context_length + 1),
                         generator=gen)

    def step(i: int) -> float:
        x, y = data[i, :, :-1].to(device), data[i, :, 1:].to(device)
        with autocast(device, amp):
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), p.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    model.train()
    t0 = time.perf_counter()
    for i in range(warmup):
        step(i)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step(i)
    seconds = time.perf_counter() - t0
    tok_s = steps * rows / seconds
    fpt = model.flops_per_token()
    achieved = tok_s * fpt / 1e9
    peak = peaks["bf16"] if amp == torch.bfloat16 else peaks["fp32"]
    return {
        "benchmark": "train", "device": device, "cpu": cpu_info(),
        "threads": torch.get_num_threads(),
        "dtype": "bf16" if amp == torch.bfloat16 else "fp32", "compiled": compiled,
        "reuses_freed_memory": reused,
        "attn_block": model.blocks[0].attn.attn_block,
        "batch_size": p.batch_size, "context_length": m.context_length,
        "n_layer": m.n_layer, "n_head": m.n_head, "n_embd": m.n_embd, "vocab_size": vocab,
        "parameters": model.num_params(), "steps": steps, "warmup_seconds": round(warm_s, 1),
        "tokens_per_s": round(tok_s, 1), "flops_per_token": fpt,
        "achieved_gflops": round(achieved, 1),
        "peak_gflops_bf16": round(peaks["bf16"], 1), "peak_gflops_fp32": round(peaks["fp32"], 1),
        "mfu": round(achieved / peak, 4),
    }
