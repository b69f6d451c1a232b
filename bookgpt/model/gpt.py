"""GPT-2 style decoder-only transformer in pure torch.

Training forward (causal SDPA or blocked attention) and a KV-cache forward for batched decoding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bookgpt.config import ModelConfig

# One (k, v) pair per layer, each (B, nh, W, hs): preallocated, written in place at `cache_pos`.
KVCache = list[tuple[torch.Tensor, torch.Tensor]]


def attention_mask(pad: torch.Tensor, slots: torch.Tensor, width: int) -> torch.Tensor:
    """The mask forward_cached takes, for left-padded rows: (B, Q, W) bool, True = may attend.

    The query at slot slots[q] of row b sees key slots pad[b]..slots[q]: its row's own tokens up to
    itself, never the left padding. A padding query sees itself only, so no row of the mask is
    empty (that gives NaN). pad (B,) left pads per row; slots (Q,) the queries' slots; W = width.
    """
    keys = torch.arange(width, device=pad.device)  # (W,)
    causal = keys[None, :] <= slots[:, None]  # (Q, W)
    real = keys[None, :] >= pad[:, None]  # (B, W)
    return (causal[None] & real[:, None]) | (keys[None, :] == slots[:, None])[None]  # (B, Q, W)


def linear(layer: nn.Linear, x: torch.Tensor, matvec: bool = False) -> torch.Tensor:
    """layer(x), or with matvec as multiply-and-sum: for one row under torch.compile that becomes a
    single fused reduction kernel, about twice as fast as an extern GEMM call (never use it eagerly:
    it materialises (..., out, in))."""
    if not matvec:
        return layer(x)
    y = (x.unsqueeze(-2) * layer.weight).sum(-1)  # (..., 1, in) * (out, in) -> (..., out)
    return y if layer.bias is None else y + layer.bias


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """F.dropout, except under torch.compile: there the keep-mask comes from a counter-based hash of
    the element index and a seed drawn from torch's RNG (so seeding still holds). Inductor fuses it
    into one vectorised pass, ~10x cheaper than bernoulli_, which took a third of a training step."""
    if not training or p == 0.0:
        return x
    if not torch.compiler.is_compiling() or x.numel() >= 2**31:
        return F.dropout(x, p, training=True)
    seed = torch.randint(-2**31, 2**31 - 1, (), device=x.device, dtype=torch.int32)
    h = torch.arange(x.numel(), device=x.device, dtype=torch.int32).view(x.shape) + seed
    for mult, shift in ((-1640531535, 15), (-2048144789, 13), (-1028477387, 16)):  # murmur3-style
        h = h * mult  # int32 arithmetic wraps (two's complement), as the hash wants
        h = h ^ ((h >> shift) & ((1 << (32 - shift)) - 1))  # logical right shift
    keep = h >= round(p * 2**32) - 2**31  # h is uniform over int32: P(keep) = 1 - p
    return x * keep.to(x.dtype) * (1.0 / (1.0 - p))


def gelu(x: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """GPT-2's GELU (the tanh approximation). With `fast` under torch.compile, as x * sigmoid(2z)
    for 0.5 * (1 + tanh(z)), the same function: Inductor's vectorised CPU tanh is slow, and this
    form ran its forward 2.5x faster (4,096 x 1,024 bf16, Xeon with AMX: 4.15 -> 1.64 ms), equal
    to the tanh form within bf16 rounding."""
    if not (fast and torch.compiler.is_compiling()):
        return F.gelu(x, approximate="tanh")
    return x * torch.sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x))  # 2 * sqrt(2 / pi)


class Dropout(nn.Dropout):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


def blocked_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block: int,
                             dropout_p: float = 0.0) -> torch.Tensor:
    """Causal attention as plain matmuls over query blocks; each block only sees keys up to its end.

    Skips most of the masked upper triangle, and at small head sizes plain (bf16) matmuls under
    torch.compile beat SDPA's CPU kernel. q, k, v: (B, nh, T, hs) -> (B, nh, T, hs).
    """
    T, hs = q.size(2), q.size(3)
    q = q * (1.0 / math.sqrt(hs))
    outs = []
    for start in range(0, T, block):
        end = min(start + block, T)
        att = q[:, :, start:end] @ k[:, :, :end].transpose(-2, -1)  # (B, nh, end-start, end)
        # query start+i may see keys 0..start+i: only the diagonal sub-block is partly masked
        keep = torch.ones(end - start, end, dtype=torch.bool, device=q.device).tril(diagonal=start)
        att = att.masked_fill(~keep, float("-inf"))
        att = F.softmax(att.float(), dim=-1).to(v.dtype)  # softmax in fp32 even under bf16
        att = dropout(att, dropout_p, dropout_p > 0.0)
        outs.append(att @ v[:, :, :end])  # (B, nh, end-start, hs)
    return torch.cat(outs, dim=2)  # (B, nh, T, hs)


def matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     mask: torch.Tensor) -> torch.Tensor:
    """Masked attention as plain matmuls, for one-token decode steps: compiled, this is ~5x faster
    than SDPA's CPU kernel in bf16. q (B, nh, T, hs); k, v (B, nh, W, hs); mask (B, 1, T, W)."""
    att = (q * (1.0 / math.sqrt(q.size(-1)))) @ k.transpose(-2, -1)  # (B, nh, T, W)
    att = att.masked_fill(~mask, float("-inf"))
    att = F.softmax(att.float(), dim=-1).to(v.dtype)  # softmax in fp32 even under bf16
    return att @ v  # (B, nh, T, hs)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.head_size = cfg.n_embd // cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.resid_drop = Dropout(cfg.dropout)
        self.attn_block = 0  # > 0: training uses blocked_causal_attention with this query block

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor] | None = None,
                cache_pos: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, matvec: bool = False) -> torch.Tensor:
        B, T, C = x.shape
        nh, hs = self.n_head, self.head_size
        q, k, v = linear(self.c_attn, x, matvec).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        p = self.dropout if self.training else 0.0
        if kv is not None:
            # write this step's keys/values into the preallocated cache at their slots, then attend
            # over the whole cache window; attn_mask hides unwritten slots and left padding
            k_cache, v_cache = kv  # (B, nh, W, hs)
            k_cache.index_copy_(2, cache_pos, k.to(k_cache.dtype))
            v_cache.index_copy_(2, cache_pos, v.to(v_cache.dtype))
            k, v = k_cache, v_cache  # (B, nh, W, hs)
            q = q.to(k.dtype)
        if kv is not None and T == 1:
            y = matmul_attention(q, k, v, attn_mask)  # (B, nh, 1, hs)
        elif attn_mask is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)
        elif self.attn_block and T > self.attn_block:
            y = blocked_causal_attention(q, k, v, self.attn_block, p)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        if kv is not None:
            y = y.to(x.dtype)  # a cache of another dtype than the activations (no-op otherwise)
        return self.resid_drop(linear(self.c_proj, y, matvec))  # (B, T, C)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, matvec: bool = False) -> torch.Tensor:
        h = gelu(linear(self.c_fc, x, matvec), fast=self.training)  # (B, T, 4C)
        return self.drop(linear(self.c_proj, h, matvec))  # (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm transformer block."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor] | None = None,
                cache_pos: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, matvec: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), kv, cache_pos, attn_mask, matvec)  # (B, T, C)
        return x + self.mlp(self.ln_2(x), matvec)  # (B, T, C)


class GPT(nn.Module):
    """GPT-2: learned positions, pre-LN blocks, 4x GELU MLP, lm_head tied to the token embedding.

    `attn_block` > 0 makes training attention use blocked_causal_attention with query blocks of
    that size (SDPA stays the reference and the path for masked/cached attention).
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, *, attn_block: int = 0) -> None:
        super().__init__()  # cfg is consistent: ModelConfig checks that n_head divides n_embd
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.context_length, cfg.n_embd)
        self.drop = Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one (V, C) matrix
        self.set_attn_block(attn_block)
        self.decoders: dict = {}  # compiled generation Decoders by dtype (see generate.py)
        for name, m in self.named_modules():  # GPT-2 init; LayerNorms keep ones and zeros
            if isinstance(m, (nn.Linear, nn.Embedding)):
                # projections writing into the residual stream get std 0.02/sqrt(2*n_layer)
                std = 0.02 / math.sqrt(2 * cfg.n_layer) if name.endswith("c_proj") else 0.02
                nn.init.normal_(m.weight, mean=0.0, std=std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["decoders"] = {}  # per-process caches holding compiled code: never pickled or copied
        state.pop("_loss", None)  # compile_blocks' compiled loss
        return state

    def set_attn_block(self, attn_block: int) -> None:
        """Choose training attention: 0 = SDPA, > 0 = blocked matmul attention of that query block."""
        if attn_block < 0:
            raise ValueError(f"attn_block must be >= 0, got {attn_block}")
        for blk in self.blocks:
            blk.attn.attn_block = attn_block

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                loss_mask: torch.Tensor | None = None, *,
                all_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> (logits, loss).

        With targets (B, T) (-100 = ignore): logits (B, T, V) and the mean cross-entropy, restricted to
        positions where loss_mask (B, T, bool or float weights) is non-zero. Without targets:
        logits of the last position (B, 1, V), or of all positions if all_logits.
        """
        T = idx.size(1)
        if T > self.cfg.context_length:
            raise ValueError(f"sequence of {T} tokens exceeds the context of {self.cfg.context_length}")
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        for blk in self.blocks:
            x = blk(x)  # (B, T, C)
        x = self.ln_f(x)  # (B, T, C)
        if targets is None:
            if not all_logits:
                x = x[:, -1:, :]  # (B, 1, C): generation needs only the next-token distribution
            return self.lm_head(x), None  # (B, 1 or T, V)
        logits = self.lm_head(x)  # (B, T, V)
        return logits, self._loss(logits, targets, loss_mask)

    @staticmethod
    def _loss(logits: torch.Tensor, targets: torch.Tensor,
              loss_mask: torch.Tensor | None) -> torch.Tensor:
        flat_logits = logits.reshape(-1, logits.size(-1)).float()  # (B*T, V)
        if loss_mask is None:
            return F.cross_entropy(flat_logits, targets.reshape(-1), ignore_index=-100)
        weight = loss_mask.reshape(-1).to(flat_logits.dtype)  # (B*T,)
        # masked-out labels become ignore_index, so they cannot reach the loss or the gradients
        flat_targets = targets.reshape(-1).masked_fill(weight == 0, -100)  # (B*T,)
        weight = weight * (flat_targets != -100)
        per_token = F.cross_entropy(flat_logits, flat_targets, ignore_index=-100,
                                    reduction="none")  # (B*T,)
        return (per_token * weight).sum() / weight.sum().clamp(min=1e-8)

    def forward_cached(self, idx: torch.Tensor, pos_ids: torch.Tensor, attn_mask: torch.Tensor,
                       kv_cache: KVCache | None = None, cache_pos: torch.Tensor | None = None,
                       last_only: bool = True, matvec: bool = False,
                       head: bool = True) -> torch.Tensor:
        """Inference forward with explicit positions and mask, optionally through a KV cache.

        idx, pos_ids (B, T); attn_mask (B, 1, T, W) bool, True = may attend; kv_cache: per layer
        (k, v) of (B, nh, W, hs), written at slots cache_pos (T,). Without a cache W = T.
        Returns logits (B, 1, V) if last_only else (B, T, V); with head=False the final hidden
        states (B, 1 or T, C) instead, for a caller that needs logits at a few positions only.
        matvec: see linear() (compiled only).
        """
        x = self.wte(idx) + self.wpe(pos_ids)  # (B, T, C)
        for i, blk in enumerate(self.blocks):
            kv = kv_cache[i] if kv_cache is not None else None
            # .forward, not __call__: bypasses compile_blocks' wrapper, which would recompile
            # for every new prompt length; decoding compiles its own whole step instead
            x = blk.forward(x, kv, cache_pos, attn_mask, matvec)  # (B, T, C)
        if last_only:
            x = x[:, -1:, :]  # (B, 1, C)
        if not head:
            return self.ln_f(x)  # (B, 1 or T, C)
        return linear(self.lm_head, self.ln_f(x), matvec)  # (B, 1 or T, V)

    def new_kv_cache(self, batch: int, length: int | None = None,
                     dtype: torch.dtype = torch.float32) -> KVCache:
        """Zeroed cache (zeros, not empty: masked slots still enter the matmuls, NaN would leak)."""
        c = self.cfg
        shape = (batch, c.n_head, length or c.context_length, c.n_embd // c.n_head)  # (B, nh, W, hs)
        kw = {"dtype": dtype, "device": self.wte.weight.device}
        return [(torch.zeros(shape, **kw), torch.zeros(shape, **kw)) for _ in range(c.n_layer)]

    def num_params(self, exclude_embeddings: bool = False) -> int:
        """Parameter count (the tied lm_head counted once); optionally without wte and wpe."""
        n = sum(p.numel() for p in self.parameters())
        if exclude_embeddings:
            n -= self.wte.weight.numel() + self.wpe.weight.numel()
        return n

    def flops_per_token(self) -> int:
        """Training FLOPs per token: 6*N + 12*n_layer*n_embd*context_length.

        N = parameters without the position table (a lookup); the token table counts because the
        tied lm_head multiplies by it. 6N covers forward+backward matmuls (2N + 4N); the second term
        is the attention scores and weighted sum over a full context (PaLM appendix B).
        """
        n = self.num_params() - self.wpe.weight.numel()
        c = self.cfg
        return 6 * n + 12 * c.n_layer * c.n_embd * c.context_length

    def configure_optimizer(self, weight_decay: float, lr: float, betas: tuple[float, float],
                            device_type: str) -> torch.optim.AdamW:
        """AdamW decaying 2-D weights only (not biases, LayerNorms or the position table).

        Uses the fused kernel where this torch and device support it, else the default.
        """
        params = [(n, p) for n, p in self.named_parameters() if p.requires_grad]  # tied: once
        decay = [p for n, p in params if p.dim() >= 2 and n != "wpe.weight"]
        no_decay = [p for n, p in params if not (p.dim() >= 2 and n != "wpe.weight")]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        if device_type in ("cpu", "cuda", "mps"):
            try:
                return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=True)
            except (RuntimeError, TypeError, ValueError):
                pass  # older torch or a device without the fused kernel
        return torch.optim.AdamW(groups, lr=lr, betas=betas)

    def compile_blocks(self, **compile_kwargs) -> None:
        """torch.compile each transformer block separately (measured faster than the whole model),
        and the loss: fused, it skips the fp32 copy of the logits (+20% training tokens/s).

        Affects forward() only; forward_cached() calls the uncompiled blocks.
        """
        # random ops left in the graphs (SDPA's dropout, dropout seeds) use aten's RNG: inductor's
        # own CPU RNG is generated per element and was measured much slower
        options = {"fallback_random": True, **compile_kwargs.pop("options", {})}
        for blk in self.blocks:
            blk.compile(options=options, **compile_kwargs)
        self._loss = torch.compile(GPT._loss, options=options, **compile_kwargs)
