"""Scoring given continuations: the log-probability a model assigns to each of several answers.

Each prompt runs through the model once; its keys and values then serve all of its continuations,
so k candidate answers cost one prompt plus k short sequences, not k whole sequences. Several
prompts (a batch of questions) go through together: two forward passes in all. An answer whose
tokens begin another's ("the velocity" in "the velocity of light") rides on it: one pass over the
longer one gives the shorter one's scores too.
"""

from __future__ import annotations

import torch

from bookgpt.model.gpt import GPT, attention_mask


def score_answers(model: GPT, prompts: list[list[int]], answers: list[list[list[int]]], end: int,
                  pad_id: int = 0) -> list[list[list[float]]]:
    """out[j][i]: the log-probabilities of each token of answers[j][i] after prompts[j], then of
    `end` after it. Only the answers that begin no longer one of their prompt are run; the others
    read their scores, and the end token's, at the same places of the one they begin."""
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
                                 end, pad_id)
    return [[[lp for lp, _ in sc[at][: len(toks)]] + [sc[at][len(toks)][1]]
             for toks, at in zip(cs, ride)] for cs, ride, sc in zip(answers, rides, scored)]


@torch.inference_mode()
def score_continuations(model: GPT, prompts: list[list[int]], conts: list[list[list[int]]],
                        also: int, pad_id: int = 0,
                        chunk: int = 128) -> list[list[list[tuple[float, float]]]]:
    """For each prompt's non-empty continuations after it, at each place t a pair:
    out[j][i][t] = (log p(conts[j][i][t] | prompts[j] + conts[j][i][:t]),
                    log p(also | prompts[j] + conts[j][i][:t])),
    so one continuation scores every prefix of itself followed by `also` (e.g. the end token)."""
    if len(prompts) != len(conts) or any(not p or not cs or any(not c for c in cs)
                                         for p, cs in zip(prompts, conts)):
        raise ValueError("scoring needs, for each prompt, non-empty continuations")
    dev = model.wte.weight.device
    P = max(len(p) for p in prompts)
    L = max(len(c) for cs in conts for c in cs)
    W = P + L - 1  # cache slots: the left-padded prompts, then all continuation tokens but the last
    if W > model.cfg.context_length:
        raise ValueError(f"prompt ({P}) plus answer ({L}) tokens exceed the context of "
                         f"{model.cfg.context_length}")
    pad = torch.tensor([P - len(p) for p in prompts], device=dev)  # (J,) left padding
    # 1. the prompts, left-padded
    slots = torch.arange(P, device=dev)  # (P,)
    mask = attention_mask(pad, slots, W)  # (J, P, W)
    idx = torch.tensor([[pad_id] * (P - len(p)) + p for p in prompts], device=dev)  # (J, P)
    kv = model.new_kv_cache(len(prompts), W)
    last = model.forward_cached(idx, (slots[None] - pad[:, None]).clamp(min=0), mask[:, None], kv,
                                slots)  # (J, 1, V)
    first = torch.log_softmax(last[:, -1].float(), dim=-1)  # (J, V): each answer's first token
    owner = torch.tensor([j for j, cs in enumerate(conts) for _ in cs], device=dev)  # (R,)
    flat = [c for cs in conts for c in cs]
    firsts = list(zip(first[owner, torch.tensor([c[0] for c in flat], device=dev)].tolist(),
                      first[owner, also].tolist()))  # (R,) pairs
    rest: list[list[tuple[float, float]]] = [[] for _ in flat]
    # 2. the answers, shortest first in chunks of similar length (little padding), each reading its
    # own prompt's cache (copied per answer, since each writes its tokens into the slots after it)
    order = sorted((i for i, c in enumerate(flat) if len(c) > 1), key=lambda i: len(flat[i]))
    for k in range(0, len(order), chunk):
        rows = order[k:k + chunk]
        L = len(flat[rows[-1]])
        w = P + L - 1
        own = owner[torch.tensor(rows, device=dev)]  # (r,)
        kv_r = [(kc[:, :, :w].index_select(0, own), vc[:, :, :w].index_select(0, own))
                for kc, vc in kv]
        steps = torch.arange(P, w, device=dev)  # (L-1,)
        mask = attention_mask(pad[own], steps, w)  # (r, L-1, w)
        idx = torch.tensor([flat[i][:-1] + [pad_id] * (L - len(flat[i])) for i in rows],
                           device=dev)  # (r, L-1)
        hidden = model.forward_cached(idx, steps[None] - pad[own][:, None], mask[:, None], kv_r,
                                      steps, last_only=False, head=False)  # (r, L-1, C)
        # the vocabulary projection only where a real answer token is predicted (not padding)
        lens = torch.tensor([len(flat[i]) - 1 for i in rows], device=dev)  # (r,)
        real_pos = torch.arange(L - 1, device=dev)[None, :] < lens[:, None]  # (r, L-1)
        logits = model.lm_head(hidden[real_pos]).float()  # (N, V)
        targets = torch.tensor([t for i in rows for t in flat[i][1:]], device=dev)  # (N,)
        norm = torch.logsumexp(logits, dim=-1)  # (N,)
        lps = list(zip((logits.gather(-1, targets[:, None]).squeeze(-1) - norm).tolist(),
                       (logits[:, also] - norm).tolist()))  # (N,) pairs
        at = 0
        for i in rows:
            n = len(flat[i]) - 1
            rest[i], at = lps[at:at + n], at + n
    scores = iter([f, *r] for f, r in zip(firsts, rest))
    return [[next(scores) for _ in cs] for cs in conts]
