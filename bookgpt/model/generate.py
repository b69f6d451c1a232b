"""Batched autoregressive generation: left-padded prompts, preallocated KV cache, compiled decode step.

`Sampling` says what to generate; `Decoder` holds the cache and the (optionally torch.compiled)
one-token step and is reused across calls; `generate` runs one on a model.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass

import torch
import torch._inductor.config as inductor_config
import torch.nn.functional as F

from bookgpt.model.gpt import GPT, KVCache, attention_mask

# attention window over the cache: prompt + new tokens, rounded up to this. Attention reads the
# whole window of keys and values every step, the most of a batch's step after the linears:
# bench generate, default shape, AMD EPYC, alternated in one run, 16 against 64 (window 144
# against 192): batch 16 8,212 -> 9,519 tokens/s, batch 1 1,815 -> 1,886
_WINDOW_ROUND = 16
# called as each row's token is kept: (row index among the prompts, token id, its log-probability);
# it runs inside generation, so it must be quick (e.g. hand the token to another thread)
OnToken = Callable[[int, int, float], None]
_MATVEC_MAX_ROWS = 4  # compiled steps of up to this many rows use multiply-and-sum linears (measured)
# what a forward gives the generation loop: log-probs (B, V) in fp32, greedy token (B,), its log-prob (B,)
_Next = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Sampling:
    """What to generate: up to max_new_tokens tokens per prompt. Temperature 0 is greedy; above 0
    tokens are sampled from the top_k most likely (0 = off) within the top_p nucleus (1 = off).
    A token in stop_ids ends its row (excluded from the result, stopped=True); any set is taken."""

    max_new_tokens: int
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    stop_ids: Set[int] = frozenset()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        object.__setattr__(self, "stop_ids", frozenset(self.stop_ids))


@dataclass
class GenerationResult:
    tokens: list[int]  # new tokens only, stop token excluded
    logprobs: list[float]  # log p(token) under the untempered, unfiltered distribution
    stopped: bool  # True if a stop token ended the sequence


def _check_prompts(model: GPT, prompts: Sequence[Sequence[int]], max_new_tokens: int) -> None:
    ctx = model.cfg.context_length
    for i, p in enumerate(prompts):
        if len(p) == 0:
            raise ValueError(f"prompt {i} is empty; give at least one token")
        if len(p) + max_new_tokens > ctx:
            raise ValueError(f"prompt of {len(p)} tokens + {max_new_tokens} new tokens exceeds the "
                             f"model's context of {ctx}; shorten the prompt or lower max_new_tokens")


def _autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@contextlib.contextmanager
def _eval_mode(model: GPT) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _pick(logp: torch.Tensor, greedy_tok: torch.Tensor, greedy_lp: torch.Tensor, s: Sampling,
          generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose the next token per row from log-probs (B, V); returns (tokens (B,), logprobs (B,))."""
    if s.temperature == 0.0:
        return greedy_tok, greedy_lp
    logits = logp / s.temperature  # (B, V); logits/T shifted per row: the same tempered softmax
    if s.top_k > 0 and s.top_k < logits.size(-1):
        kth = torch.topk(logits, s.top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if s.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
        probs = F.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens before it already reach top_p (the first is always kept)
        drop = (probs.cumsum(dim=-1) - probs) >= s.top_p  # (B, V)
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    tok = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)  # (B, 1)
    return tok.squeeze(1), logp.gather(1, tok).squeeze(1)  # (B,), (B,)


def _greedy(logits: torch.Tensor) -> _Next:
    """logits (B, V) -> log-probs (B, V) in fp32, argmax token (B,), its log-prob (B,)."""
    logp = F.log_softmax(logits.float(), dim=-1)  # (B, V)
    tok = logp.argmax(dim=-1)  # (B,)
    return logp, tok, logp.gather(1, tok.unsqueeze(1)).squeeze(1)


def _decode(n: int, s: Sampling, generator: torch.Generator | None, on_token: OnToken | None,
            first: _Next, step: Callable[[torch.Tensor, int], _Next]) -> list[GenerationResult]:
    """The generation loop, cached or not: pick each row's token, keep it or end the row on a stop
    token, and step on until every row stopped or max_new_tokens were made. `first` is what the
    prompts give; step(tokens (B,), i) feeds the i-th new tokens and gives what follows. Rows from
    n on are padding: their tokens are fed but never kept."""
    results = [GenerationResult([], [], False) for _ in range(n)]
    live = set(range(n))
    logp, g_tok, g_lp = first
    for i in range(s.max_new_tokens):
        tok, lp = _pick(logp, g_tok, g_lp, s, generator)
        tok_list, lp_list = tok.tolist(), lp.tolist()
        for r in sorted(live):
            if tok_list[r] in s.stop_ids:
                results[r].stopped = True
                live.discard(r)
            else:
                results[r].tokens.append(tok_list[r])
                results[r].logprobs.append(lp_list[r])
                if on_token is not None:
                    on_token(r, tok_list[r], lp_list[r])
        if not live or i == s.max_new_tokens - 1:
            break
        logp, g_tok, g_lp = step(tok, i)
    return results


def _decode_step(net: GPT, idx: torch.Tensor, slot: torch.Tensor, pad: torch.Tensor, kv: KVCache,
                 matvec: bool) -> _Next:
    """One new token per row. idx (B, 1); slot () cache index being written; pad (B,) left pads."""
    mask = attention_mask(pad, slot.reshape(1), kv[0][0].size(2))  # (B, 1, W)
    pos_ids = (slot - pad).clamp(min=0)[:, None]  # (B, 1) position of the new token in its row
    logits = net.forward_cached(idx, pos_ids, mask[:, None], kv, slot.reshape(1),
                                matvec=matvec)  # (B, 1, V)
    return _greedy(logits[:, -1])


_COMPILED_STEPS: dict[tuple, Callable] = {}
# the compiled step is built (on its first call per batch bucket) with Inductor's freezing, which
# prepacks the linears' weights for oneDNN: bench generate, default shape, AMD EPYC, alternated
# in one run: batch 1 1,355-1,537 -> 1,946-2,077 tokens/s, batch 16 6,220-6,764 -> 7,869-9,417.
# Each model still decodes with its own weights, changed in place or not (tests/test_model.py).
_FROZEN = inductor_config.patch(freezing=True)


def _compiled_step(key: tuple) -> Callable:
    """torch.compile of _decode_step, one per model shape and dtype, on a code object of its own:
    the recompile limit (8, after which torch silently runs eagerly) counts per code object, and
    each shape/dtype needs one variant per batch bucket. Same-shaped models share the compilation.
    """
    if key not in _COMPILED_STEPS:
        code = _decode_step.__code__.replace()  # an equal but distinct code object
        fn = types.FunctionType(code, _decode_step.__globals__, _decode_step.__name__)
        _COMPILED_STEPS[key] = torch.compile(fn, dynamic=False)
    return _COMPILED_STEPS[key]


class Decoder:
    """Reusable batched decoder: a KV cache preallocated for (max_batch, context) and a decode step.

    With compile=True the one-token step (all layers, log-softmax and argmax) is torch.compiled once;
    batches are padded up to a bucket (powers of two, and max_batch), one compiled variant each.
    dtype bfloat16 runs a bf16 copy of the weights with a bf16 cache (worth it for large batches on
    CPUs with native bf16); float32 is exact. The copy is refreshed when the model's weights change.
    Not thread-safe: one generate() at a time per Decoder (they share the cache).
    """

    def __init__(self, model: GPT, max_batch: int = 16, dtype: torch.dtype = torch.float32,
                 compile: bool = True) -> None:
        if not 1 <= max_batch <= 128:  # compiled: at most 8 batch buckets (the recompile limit)
            raise ValueError(f"max_batch must be in [1, 128], got {max_batch}")
        self.model = model
        self.max_batch = max_batch
        self.dtype = dtype
        self.compiled = compile
        self.device = model.wte.weight.device
        self._net = model
        self._synced: tuple[tuple[int, int], ...] = ()
        if dtype != model.wte.weight.dtype:
            with torch.device("meta"):  # no init work, and the global RNG is left untouched
                net = GPT(model.cfg, model.vocab_size)
            self._net = net.to_empty(device=self.device).to(dtype).eval()
            self._net.lm_head.weight = self._net.wte.weight  # keep the tie through to_empty
        with torch.inference_mode():
            self._cache = model.new_kv_cache(max_batch, model.cfg.context_length, dtype)
        # batch sizes stay static (buckets); the window dim is marked dynamic per call, so one
        # compiled variant per bucket serves every prompt length
        key = (dtype, model.cfg, model.vocab_size, str(self.device))
        self._step = _compiled_step(key) if compile else _decode_step

    def buckets(self) -> list[int]:
        """Batch sizes the compiled step specialises on: powers of two up to max_batch, and max_batch."""
        sizes = [1 << i for i in range(self.max_batch.bit_length()) if 1 << i < self.max_batch]
        return sizes + [self.max_batch]

    def warmup(self) -> None:
        """Compile the decode step for every batch bucket now (tens of seconds each, once), so no
        request pays for it later. Does nothing for an eager decoder."""
        if self.compiled:
            for rows in self.buckets():
                self.generate([[0]] * rows, Sampling(max_new_tokens=2))

    def _sync_weights(self) -> None:
        """Copy the model's weights into the low-precision copy if they changed since the last call."""
        if self._net is self.model:
            return
        versions = tuple((id(p), p._version) for p in self.model.parameters())
        if versions != self._synced:
            self._net.load_state_dict(self.model.state_dict())
            self._synced = versions

    def _prefill(self, idx: torch.Tensor, pad: torch.Tensor, kv: KVCache) -> _Next:
        """Run the left-padded prompts (B, T) through the model, filling cache slots 0..T-1."""
        slots = torch.arange(idx.size(1), device=idx.device)  # (T,)
        mask = attention_mask(pad, slots, kv[0][0].size(2))  # (B, T, W)
        pos_ids = (slots[None, :] - pad[:, None]).clamp(min=0)  # (B, T)
        logits = self._net.forward_cached(idx, pos_ids, mask[:, None], kv, slots)  # (B, 1, V)
        return _greedy(logits[:, -1])

    def generate(self, prompts: Sequence[Sequence[int]], sampling: Sampling, *, pad_id: int = 0,
                 generator: torch.Generator | None = None,
                 on_token: OnToken | None = None) -> list[GenerationResult]:
        """Generate for every prompt (any count: done in chunks of max_batch). See generate()."""
        _check_prompts(self.model, prompts, sampling.max_new_tokens)
        if sampling.max_new_tokens == 0:
            return [GenerationResult([], [], False) for _ in prompts]
        results: list[GenerationResult] = []
        with torch.inference_mode(), _eval_mode(self.model):
            self._sync_weights()
            for start in range(0, len(prompts), self.max_batch):
                chunk = prompts[start:start + self.max_batch]
                sink = None if on_token is None else (
                    lambda row, tok, lp, _at=start: on_token(_at + row, tok, lp))
                results += self._generate_chunk(chunk, sampling, pad_id, generator, sink)
        return results

    def _generate_chunk(self, prompts: Sequence[Sequence[int]], s: Sampling, pad_id: int,
                        generator: torch.Generator | None,
                        on_token: OnToken | None = None) -> list[GenerationResult]:
        n = len(prompts)
        # compiled: round the batch up to a bucket (extra rows are 1-token dummies)
        rows = min(b for b in self.buckets() if b >= n) if self.compiled else n
        lengths = [len(p) for p in prompts] + [1] * (rows - n)
        T = max(lengths)
        ctx = self.model.cfg.context_length
        window = min(ctx, -(-(T + s.max_new_tokens) // _WINDOW_ROUND) * _WINDOW_ROUND)
        kv = [(k[:rows, :, :window], v[:rows, :, :window]) for k, v in self._cache]  # (B, nh, W, hs)
        if self.compiled:
            for t in (t for pair in kv for t in pair):
                torch._dynamo.mark_dynamic(t, 2)  # without this every window size would recompile
        idx = torch.full((rows, T), pad_id, dtype=torch.long)
        for r, p in enumerate(prompts):
            idx[r, T - len(p):] = torch.as_tensor(list(p), dtype=torch.long)  # left pad
        pad = torch.tensor([T - n_tok for n_tok in lengths], dtype=torch.long)  # (B,)
        idx, pad = idx.to(self.device), pad.to(self.device)
        matvec = self.compiled and rows <= _MATVEC_MAX_ROWS
        frozen = _FROZEN if self.compiled else contextlib.nullcontext()

        def step(tok: torch.Tensor, i: int) -> _Next:
            # slot as a 0-d tensor, not an int: an int would be specialised and recompile each step
            slot = torch.tensor(T + i, dtype=torch.long, device=self.device)
            with frozen:  # read when a bucket's step is compiled, on its first call
                return self._step(self._net, tok[:, None], slot, pad, kv, matvec)

        return _decode(n, s, generator, on_token, self._prefill(idx, pad, kv), step)


def _decoder_for(model: GPT, batch: int, dtype: torch.dtype, compile: bool) -> Decoder:
    """An eager Decoder is cheap: a fresh one per call. A compiled one is kept on the model (in
    GPT.decoders, which pickling drops), so its compilation is paid once per process."""
    if not compile:
        return Decoder(model, max_batch=min(max(batch, 1), 128), dtype=dtype, compile=False)
    want = min(max(batch, 16), 128)  # larger requests are done in chunks
    dec = model.decoders.get(dtype)
    if dec is None or dec.max_batch < want or dec.device != model.wte.weight.device:
        dec = Decoder(model, max_batch=want, dtype=dtype, compile=True)
        model.decoders[dtype] = dec
    return dec


def generate(model: GPT, prompts: list[list[int]], sampling: Sampling, *, pad_id: int = 0,
             generator: torch.Generator | None = None, on_token: OnToken | None = None,
             use_cache: bool = True, decoder: Decoder | None = None, compile: bool = False,
             dtype: torch.dtype = torch.float32) -> list[GenerationResult]:
    """Continue each prompt as `sampling` says (see Sampling).

    Prompts of different lengths are left-padded with pad_id, masked and given their own positions,
    so each row decodes as it would alone. `generator` drives the sampling; `on_token` hears of
    each kept token as it is made. Uses `decoder` if given, else one cached on the model (eager
    unless compile=True: compiling costs tens of seconds once, and pays off only in long-lived
    processes). use_cache=False recomputes the full forward every step (reference and baseline).
    """
    if use_cache:
        dec = decoder or _decoder_for(model, len(prompts), dtype, compile)
        return dec.generate(prompts, sampling, pad_id=pad_id, generator=generator, on_token=on_token)
    if on_token is not None:
        raise ValueError("on_token needs the KV cache (use_cache=True)")
    return _generate_uncached(model, prompts, sampling, pad_id, generator, dtype)


def _generate_uncached(model: GPT, prompts: list[list[int]], s: Sampling, pad_id: int,
                       generator: torch.Generator | None, dtype: torch.dtype) -> list[GenerationResult]:
    """Every step runs the whole sequences through the model again, without a cache: the baseline
    `bookgpt bench generate` measures the cache against, and what tests check the cache with."""
    _check_prompts(model, prompts, s.max_new_tokens)
    if s.max_new_tokens == 0 or not prompts:
        return [GenerationResult([], [], False) for _ in prompts]
    device = model.wte.weight.device
    T = max(len(p) for p in prompts)
    # the sequences so far, left-padded, (B, T'); rows that stopped carry on, never read
    idx = torch.tensor([[pad_id] * (T - len(p)) + list(p) for p in prompts], dtype=torch.long,
                       device=device)
    pad = torch.tensor([T - len(p) for p in prompts], dtype=torch.long, device=device)  # (B,)

    def forward() -> _Next:
        slots = torch.arange(idx.size(1), device=device)  # (T',)
        pos_ids = (slots[None, :] - pad[:, None]).clamp(min=0)  # (B, T')
        mask = attention_mask(pad, slots, idx.size(1))  # (B, T', T')
        with _autocast(device, dtype):
            logits = model.forward_cached(idx, pos_ids, mask[:, None])  # (B, 1, V)
        return _greedy(logits[:, -1])

    def step(tok: torch.Tensor, _i: int) -> _Next:
        nonlocal idx
        idx = torch.cat([idx, tok[:, None]], dim=1)  # (B, T' + 1)
        return forward()

    with torch.inference_mode(), _eval_mode(model):
        return _decode(len(prompts), s, generator, None, forward(), step)
