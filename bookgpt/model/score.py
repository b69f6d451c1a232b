"""Scoring given continuations: the log-probability a model assigns to each of several answers.

A prompt and all its candidate answers are packed into one row (the mask keeps each answer to its
prompt and itself), so k candidates cost one prompt plus their own tokens, not k whole sequences,
and a batch of questions goes through in one forward pass. An answer whose tokens begin another's
("the velocity" in "the velocity of light") rides on it: the longer one's pass gives the shorter
one's scores too.

Measured on the calls `bookgpt bench answer` makes with `serve.model_weight=0.1` (quickstart
models, 66 calls of ~5 prompts of ~30 tokens with ~30 answers of ~12 tokens; AMD EPYC, 2 cores),
against the earlier two-pass scoring (the prompts through a KV cache, then the answers padded to
the longest, each reading a copy of its prompt's cache), in one run: packed 1.18x in fp32, and
with bf16 autocast (`serve.score_dtype`, where the CPU has native bf16) 1.4x.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from bookgpt.model.gpt import GPT


def score_answers(model: GPT, prompts: list[list[int]], answers: list[list[list[int]]], end: int,
                  pad_id: int = 0, dtype: torch.dtype | None = None) -> list[list[list[float]]]:
    """out[j][i]: the log-probabilities of each token of answers[j][i] after prompts[j], then of
    `end` after it. Only the answers that begin no longer one of their prompt are run; the others
    read their scores, and the end token's, at the same places of the one they begin. `dtype`
    bfloat16 runs the model under bf16 autocast (log-probabilities within ~0.05 of fp32's)."""
    carriers: list[list[int]] = []  # per prompt: the answers that are run
    rides: list[list[int]] = []  # per prompt and answer: its carrier's place in carriers
    for cs in answers:
        mine: list[int] = []
        ride = [0] * len(cs)
        for i in sorted(range(len(cs)), key=lambda i: -len(cs[i])):
            at = next((n for n, c in enumerate(mine) if cs[c][: len(cs[i])] == cs[i]), None)
            if at is None:
                at = len(mine)
                mine.append(i)
            ride[i] = at
        carriers.append(mine)
        rides.append(ride)
    scored = score_continuations(model, prompts, [[cs[c] + [end] for c in mine]
                                                  for cs, mine in zip(answers, carriers)],
                                 end, pad_id, dtype=dtype)
    return [[[lp for lp, _ in sc[at][: len(toks)]] + [sc[at][len(toks)][1]]
             for toks, at in zip(cs, ride)] for cs, ride, sc in zip(answers, rides, scored)]


@dataclass
class _Packed:
    """Prompts with their continuations in rows: consecutive prompts, each followed by its
    continuations (each but its last token), up to `pack` tokens a row (one prompt at least); per
    token its id, position, prompt and continuation (-1: the prompt itself)."""

    rows: list[list[tuple[int, int, int, int]]]
    lasts: list[tuple[int, int]]  # (row, place) of each prompt's last token
    reads: list[tuple[int, int]]  # (row, place) of each token that predicts a next one
    flat: list[list[int]]  # the continuations, in order
    owner: list[int]  # ... and the prompt of each

    @classmethod
    def of(cls, prompts: list[list[int]], conts: list[list[list[int]]], pack: int) -> _Packed:
        out = cls([[]], [], [], [], [])
        for j, (p, cs) in enumerate(zip(prompts, conts)):
            size = len(p) + sum(len(c) - 1 for c in cs)
            if out.rows[-1] and len(out.rows[-1]) + size > pack:
                out.rows.append([])
            row, r = out.rows[-1], len(out.rows) - 1
            row += [(t, k, j, -1) for k, t in enumerate(p)]
            out.lasts.append((r, len(row) - 1))
            for c in cs:
                out.reads += [(r, len(row) + k) for k in range(len(c) - 1)]
                row += [(t, len(p) + k, j, len(out.flat)) for k, t in enumerate(c[:-1])]
                out.flat.append(c)
                out.owner.append(j)
        return out

    def padded(self, pad_id: int) -> list[list[tuple[int, int, int, int]]]:
        """The rows padded to the longest; a padding token is a prompt and continuation of its
        own, so that it sees only itself."""
        T = max(len(row) for row in self.rows)
        return [row + [(pad_id, 0, -1 - k, -1 - k) for k in range(T - len(row))]
                for row in self.rows]


# tokens per packed row: a row's attention grows with its square, its padding with its size; on
# quickstart models (a question's prompt of ~30 tokens, 6 answers of ~12: a question a row) 96 ran
# fastest: 0.82 s for `bench answer`'s calls against 0.92-0.93 at 192-384 and 1.12 at 1024
PACK_TOKENS = 96


@torch.inference_mode()
def score_continuations(model: GPT, prompts: list[list[int]], conts: list[list[list[int]]],
                        also: int, pad_id: int = 0, pack: int = PACK_TOKENS,
                        dtype: torch.dtype | None = None) -> list[list[list[tuple[float, float]]]]:
    """For each prompt's non-empty continuations after it, at each place t a pair:
    out[j][i][t] = (log p(conts[j][i][t] | prompts[j] + conts[j][i][:t]),
                    log p(also | prompts[j] + conts[j][i][:t])),
    so one continuation scores every prefix of itself followed by `also` (e.g. the end token).

    Packed: a prompt and all its continuations (each but its last token) stand in one row, one
    after the other, and consecutive prompts share a row up to `pack` tokens. The mask lets a
    prompt's tokens see their prompt only, and a continuation's tokens their prompt and their own
    continuation; positions restart after the prompt for each continuation. The rows, padded to
    the longest, go through the model together: one forward pass reads every token once, with
    little padding and no cache to copy per continuation."""
    if len(prompts) != len(conts) or any(not p or not cs or any(not c for c in cs)
                                         for p, cs in zip(prompts, conts)):
        raise ValueError("scoring needs, for each prompt, non-empty continuations")
    for p, cs in zip(prompts, conts):
        longest = max(len(c) for c in cs)
        if len(p) + longest - 1 > model.cfg.context_length:
            raise ValueError(f"prompt ({len(p)}) plus answer ({longest}) tokens exceed the "
                             f"context of {model.cfg.context_length}")
    dev = model.wte.weight.device
    packed = _Packed.of(prompts, conts, pack)
    flat, owner, lasts, reads = packed.flat, packed.owner, packed.lasts, packed.reads
    grid = torch.tensor(packed.padded(pad_id), device=dev)  # (B, T, 4)
    seg, part = grid[..., 2], grid[..., 3]  # (B, T)
    at = torch.arange(grid.size(1), device=dev)
    mask = ((seg[:, :, None] == seg[:, None, :]) & (at[None, None, :] <= at[None, :, None])
            & ((part[:, None, :] == -1) | (part[:, None, :] == part[:, :, None])))  # (B, T, T)

    def amp() -> contextlib.AbstractContextManager:
        return (torch.autocast(device_type=dev.type, dtype=dtype)
                if dtype not in (None, torch.float32) else contextlib.nullcontext())

    def head(x: torch.Tensor) -> torch.Tensor:
        with amp():
            return model.lm_head(x).float()

    with amp():
        hidden = model.forward_cached(grid[..., 0], grid[..., 1], mask[:, None], None, None,
                                      last_only=False, head=False)  # (B, T, C)

    def at_places(places: list[tuple[int, int]]) -> torch.Tensor:
        where = torch.tensor(places, device=dev).reshape(-1, 2)
        return hidden[where[:, 0], where[:, 1]]  # (N, C)

    # each prompt's next-token distribution, in full: its continuations' first tokens read it
    first = torch.log_softmax(head(at_places(lasts)), dim=-1)  # (J, V)
    own = torch.tensor(owner, device=dev)
    firsts = list(zip(first[own, torch.tensor([c[0] for c in flat], device=dev)].tolist(),
                      first[own, also].tolist()))
    # the vocabulary projection only where a continuation's next token is predicted
    lps: list[tuple[float, float]] = []
    if reads:
        logits = head(at_places(reads))  # (N, V)
        targets = torch.tensor([t for c in flat for t in c[1:]], device=dev)  # (N,)
        norm = torch.logsumexp(logits, dim=-1)  # (N,)
        lps = list(zip((logits.gather(-1, targets[:, None]).squeeze(-1) - norm).tolist(),
                       (logits[:, also] - norm).tolist()))
    out: list[list[list[tuple[float, float]]]] = [[] for _ in prompts]
    k = 0
    for c, j, f in zip(flat, owner, firsts):
        out[j].append([f, *lps[k:k + len(c) - 1]])
        k += len(c) - 1
    return out
