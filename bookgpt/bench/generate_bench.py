"""`bookgpt bench generate`: new tokens/s with and without the KV cache, beside HF transformers.

Both models get the same random GPT-2 weights; the greedy tokens are compared as a sanity check.
"""

from __future__ import annotations

import statistics
import time

import torch

from bookgpt.config import Config
from bookgpt.train.runtime import cpu_has_fast_bf16, cpu_info, seed_everything


class MissingExtraError(RuntimeError):
    """An optional dependency of a benchmark is not installed."""


def to_transformers(model, vocab: int):
    """A transformers GPT2LMHeadModel of the same shape holding the same weights."""
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        raise MissingExtraError("bench generate compares with Hugging Face transformers, which "
                                "is not installed: pip install -e '.[bench]' (or pass "
                                "--no-transformers)") from None
    c = model.cfg
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=c.context_length, n_embd=c.n_embd,
                                    n_layer=c.n_layer, n_head=c.n_head, resid_pdrop=0.0,
                                    embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                                    activation_function="gelu_new"))
    ours = model.state_dict()
    theirs = {"transformer.wte.weight": ours["wte.weight"], "transformer.wpe.weight": ours["wpe.weight"],
              "transformer.ln_f.weight": ours["ln_f.weight"], "transformer.ln_f.bias": ours["ln_f.bias"]}
    for i in range(c.n_layer):
        for part in ("ln_1", "ln_2"):
            for w in ("weight", "bias"):
                theirs[f"transformer.h.{i}.{part}.{w}"] = ours[f"blocks.{i}.{part}.{w}"]
        for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            # transformers' Conv1D stores (in, out): the transpose of nn.Linear's weight
            theirs[f"transformer.h.{i}.{part}.weight"] = ours[f"blocks.{i}.{part}.weight"].t().contiguous()
            theirs[f"transformer.h.{i}.{part}.bias"] = ours[f"blocks.{i}.{part}.bias"]
    missing, _ = hf.load_state_dict(theirs, strict=False)
    assert all("lm_head" in k or "attn.bias" in k or "masked_bias" in k for k in missing), missing
    hf.tie_weights()
    return hf.eval()


def _time(fn) -> float:
    fn()  # warm-up (and compile, where it applies)
    return _timed(fn)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_generate(cfg: Config, new_tokens: int = 128, prompt_len: int = 16,
                   compile: bool = True, with_transformers: bool = True, rounds: int = 5) -> dict:
    """New tokens/s at batch 1 and 16, ours beside transformers'. Each of `rounds` rounds times
    every contender once, in turn, so that a noisy machine slows them alike; the figures are the
    medians over the rounds, and each speedup the median of the rounds' own ratios."""
    from bookgpt.model import GPT, Sampling
    from bookgpt.model.generate import generate

    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    seed_everything(0)
    vocab = cfg.tokenizer.vocab_size
    model = GPT(cfg.model, vocab).eval()
    g = torch.Generator().manual_seed(0)
    p1 = [torch.randint(5, vocab, (prompt_len,), generator=g).tolist()]
    p16 = [torch.randint(5, vocab, (prompt_len,), generator=g).tolist() for _ in range(16)]
    b16_dtype = torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    out: dict = {"benchmark": "generate", "cpu": cpu_info(), "threads": torch.get_num_threads(),
                 "prompt_tokens": prompt_len, "new_tokens": new_tokens, "rounds": rounds,
                 "n_layer": cfg.model.n_layer, "n_embd": cfg.model.n_embd, "vocab_size": vocab}
    res1: list = []

    def ours1():
        res1[:] = generate(model, p1, Sampling(new_tokens), compile=compile)

    def ours16():
        generate(model, p16, Sampling(new_tokens), compile=compile, dtype=b16_dtype)

    runs = {"ours1": ours1, "ours16": ours16}
    hf_out: list = []
    if with_transformers:
        hf = to_transformers(model, vocab)
        kw = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                  pad_token_id=0, eos_token_id=None)
        x1, x16 = torch.tensor(p1), torch.tensor(p16)

        def hf1():
            with torch.inference_mode():
                hf_out[:] = [hf.generate(x1, attention_mask=torch.ones_like(x1), **kw)]

        def hf16():
            with torch.inference_mode():
                hf.generate(x16, attention_mask=torch.ones_like(x16), **kw)

        runs |= {"hf1": hf1, "hf16": hf16}
    for fn in runs.values():
        fn()  # warm-up (and compile, where it applies)
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            seconds[name].append(_timed(fn))
    rows = {"ours1": len(p1), "ours16": len(p16), "hf1": len(p1), "hf16": len(p16)}
    rate = {k: [rows[k] * new_tokens / t for t in v] for k, v in seconds.items()}
    ours: dict = {"compiled": compile, "batch16_dtype": str(b16_dtype).removeprefix("torch."),
                  "batch1_tokens_per_s": round(statistics.median(rate["ours1"]), 1),
                  "batch16_tokens_per_s": round(statistics.median(rate["ours16"]), 1)}
    nc = max(16, new_tokens // 2)
    ours["batch1_nocache_tokens_per_s"] = round(nc / _time(
        lambda: generate(model, p1, Sampling(nc), use_cache=False)), 1)
    ours["batch1_eager_tokens_per_s"] = round(new_tokens / _time(
        lambda: generate(model, p1, Sampling(new_tokens), compile=False)), 1)
    out["bookgpt"] = ours
    if with_transformers:
        same = hf_out[0][0, prompt_len:].tolist() == res1[0].tokens
        out["transformers"] = {"batch1_tokens_per_s": round(statistics.median(rate["hf1"]), 1),
                               "batch16_tokens_per_s": round(statistics.median(rate["hf16"]), 1),
                               "same_greedy_tokens_batch1": same}
        for b in ("1", "16"):
            ratios = [a / h for a, h in zip(rate["ours" + b], rate["hf" + b])]
            out["speedup_batch" + b] = round(statistics.median(ratios), 2)
            out[f"speedup_batch{b}_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
    return out
