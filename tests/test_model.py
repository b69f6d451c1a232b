"""Tests of the GPT model and generation, on tiny models run eagerly so the file stays fast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from bookgpt.config import ModelConfig
from bookgpt.model import GPT, Decoder, Sampling
from bookgpt.model.generate import generate
from bookgpt.model.gpt import attention_mask

V = 97
TINY = ModelConfig(n_layer=2, n_head=2, n_embd=32, context_length=64, dropout=0.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from more threads, and OpenMP threads spinning against another busy
    process made this file 10x slower; restore the count for other test files."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(seed: int = 0) -> GPT:
    """Random tiny model with weights scaled up, so its outputs depend strongly on every token and
    position (the 0.02 init with tied embeddings mostly repeats the last token)."""
    torch.manual_seed(seed)
    model = GPT(TINY, V)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.mul_(2.0 if name == "wte.weight" else 5.0)
    return model.eval()


@pytest.fixture(scope="module")
def trained() -> GPT:
    """Tiny model trained (~1 s) on an arithmetic sequence mod V: confident, varied greedy tokens."""
    torch.manual_seed(0)
    model = GPT(TINY, V)
    opt = model.configure_optimizer(0.0, 1e-2, (0.9, 0.95), "cpu")
    for _ in range(60):
        seq = (torch.randint(0, V, (16, 1)) + 35 * torch.arange(33)[None]) % V  # (16, 33)
        _, loss = model(seq[:, :-1], seq[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_default_config_size() -> None:
    model = GPT(ModelConfig(), 8192)
    assert 1_000_000 <= model.num_params() <= 10_000_000
    emb = model.wte.weight.numel() + model.wpe.weight.numel()
    assert model.num_params(exclude_embeddings=True) == model.num_params() - emb
    n = model.num_params() - model.wpe.weight.numel()
    assert model.flops_per_token() == 6 * n + 12 * 6 * 256 * 512


def test_forward_shapes() -> None:
    model = tiny()
    idx = torch.randint(0, V, (3, 10))
    logits, loss = model(idx)
    assert logits.shape == (3, 1, V) and loss is None
    logits, _ = model(idx, all_logits=True)
    assert logits.shape == (3, 10, V)
    logits, loss = model(idx, targets=idx)
    assert logits.shape == (3, 10, V) and loss.ndim == 0
    with pytest.raises(ValueError, match="exceeds the context"):
        model(torch.zeros(1, 65, dtype=torch.long))


def test_weight_tying_and_init() -> None:
    model = GPT(TINY, V)
    assert model.lm_head.weight is model.wte.weight
    assert model.blocks[0].attn.c_attn.bias.abs().sum() == 0
    std = model.blocks[0].mlp.c_proj.weight.std().item()
    assert std == pytest.approx(0.02 / (2 * TINY.n_layer) ** 0.5, rel=0.2)


def test_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = GPT(TINY, V).train()
    opt = model.configure_optimizer(0.0, 3e-3, (0.9, 0.95), "cpu")
    idx = torch.randint(0, V, (4, 32))
    x, y = idx[:, :-1], idx[:, 1:]
    first = None
    for _ in range(30):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


def test_optimizer_groups() -> None:
    model = GPT(TINY, V)
    opt = model.configure_optimizer(0.1, 1e-3, (0.9, 0.95), "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"])
    assert any(p is model.wpe.weight for p in no_decay["params"])
    n = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n == model.num_params()


def _grads(model: GPT, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    _, loss = model(x, y, loss_mask=mask)
    loss.backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("float_mask", [False, True])
def test_loss_mask(float_mask: bool) -> None:
    model = tiny()
    torch.manual_seed(1)
    x = torch.randint(0, V, (2, 12))
    y = torch.randint(0, V, (2, 12))
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[0, 5:9] = True
    mask[1, 2:4] = True
    m = mask.float() if float_mask else mask
    y2 = y.clone()
    y2[~mask] = torch.randint(0, V, (int((~mask).sum()),))
    for a, b in zip(_grads(model, x, y, m), _grads(model, x, y2, m)):
        assert torch.equal(a, b)
    logits, loss = model(x, y, loss_mask=m)
    per_token = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                                                  reduction="none")
    assert loss.item() == pytest.approx(per_token[mask.reshape(-1)].mean().item(), rel=1e-5)


def test_blocked_attention_matches_sdpa() -> None:
    model = tiny()
    idx = torch.randint(0, V, (2, 50))
    ref, _ = model(idx, all_logits=True)
    model.set_attn_block(16)  # 50 = 16 + 16 + 16 + 2: uneven last block too
    out, _ = model(idx, all_logits=True)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_cache_equals_no_cache() -> None:
    model = tiny()
    prompt = torch.randint(0, V, (7,)).tolist()
    a = generate(model, [prompt], Sampling(20))[0]
    b = generate(model, [prompt], Sampling(20), use_cache=False)[0]
    assert a.tokens == b.tokens and len(a.tokens) == 20
    assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    # the chosen tokens' log-probs agree with a plain full forward
    full = torch.tensor([prompt + a.tokens])
    logits, _ = model(full, all_logits=True)
    logp = torch.log_softmax(logits[0, len(prompt) - 1:-1], dim=-1)
    expect = logp.gather(1, torch.tensor(a.tokens)[:, None]).squeeze(1).tolist()
    assert a.logprobs == pytest.approx(expect, abs=1e-4)


@pytest.mark.parametrize("use_cache", [True, False])
def test_batched_equals_one_by_one(use_cache: bool) -> None:
    model = tiny()
    torch.manual_seed(2)
    prompts = [torch.randint(1, V, (n,)).tolist() for n in (3, 11, 1, 6)]
    batch = generate(model, prompts, Sampling(12), pad_id=0, use_cache=use_cache)
    for p, res in zip(prompts, batch):
        alone = generate(model, [p], Sampling(12), use_cache=use_cache)[0]
        assert res.tokens == alone.tokens
        assert res.logprobs == pytest.approx(alone.logprobs, abs=1e-4)


def test_decoder_chunks_and_padded_batch() -> None:
    model = tiny()
    torch.manual_seed(3)
    prompts = [torch.randint(1, V, (n,)).tolist() for n in (5, 2, 9)]
    dec = Decoder(model, max_batch=2, compile=False)  # 3 prompts: chunks of 2 and 1
    got = dec.generate(prompts, Sampling(8))
    want = [generate(model, [p], Sampling(8))[0] for p in prompts]
    assert [g.tokens for g in got] == [w.tokens for w in want]


def test_stop_ids(trained: GPT) -> None:
    model = trained
    prompt = [5, 6, 7]
    free = generate(model, [prompt], Sampling(15))[0]
    assert not free.stopped
    stop = free.tokens[4]
    first = free.tokens.index(stop)
    for use_cache in (True, False):
        res = generate(model, [prompt, [1, 2]], Sampling(15, stop_ids={stop}), use_cache=use_cache)[0]
        assert res.stopped and res.tokens == free.tokens[:first]
        assert len(res.logprobs) == first


def test_prompt_validation() -> None:
    model = tiny()
    with pytest.raises(ValueError, match="prompt of 60 tokens \\+ 10 new tokens exceeds the model's "
                                         "context of 64; shorten the prompt or lower max_new_tokens"):
        generate(model, [[1] * 60], Sampling(10))
    with pytest.raises(ValueError, match="empty"):
        generate(model, [[1, 2], []], Sampling(3))
    assert generate(model, [[1] * 54], Sampling(10))[0].tokens  # exactly fits


def test_sampling_is_checked_when_made() -> None:
    for kw, msg in (({"max_new_tokens": -1}, "max_new_tokens must be >= 0"),
                    ({"temperature": -0.5}, "temperature must be >= 0"),
                    ({"top_k": -1}, "top_k must be >= 0"), ({"top_p": 0.0}, "top_p must be in"),
                    ({"top_p": 1.5}, "top_p must be in")):
        with pytest.raises(ValueError, match=msg):
            Sampling(**{"max_new_tokens": 3, **kw})
    assert Sampling(3, stop_ids={1, 2}).stop_ids == frozenset({1, 2})


def test_attention_mask_hides_left_padding() -> None:
    mask = attention_mask(torch.tensor([0, 2]), torch.arange(4), 4)  # rows of 4 and 2 tokens
    causal = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    padded = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]  # pad queries see themselves
    assert mask.int().tolist() == [causal, padded]


def test_top_k_one_equals_greedy(trained: GPT) -> None:
    model = trained
    prompts = [[3, 4, 5], [9]]
    greedy = generate(model, prompts, Sampling(10))
    g = torch.Generator().manual_seed(0)
    sampled = generate(model, prompts, Sampling(10, temperature=1.3, top_k=1), generator=g)
    assert [s.tokens for s in sampled] == [r.tokens for r in greedy]
    assert sampled[0].logprobs == pytest.approx(greedy[0].logprobs, abs=1e-5)


def test_seeded_sampling_is_reproducible(trained: GPT) -> None:
    model = trained
    prompts = [[3, 4, 5], [9, 10]]

    def run(seed: int, use_cache: bool = True, **kw) -> list[list[int]]:
        g = torch.Generator().manual_seed(seed)
        res = generate(model, prompts, Sampling(16, temperature=2.0, **kw), generator=g,
                       use_cache=use_cache)
        return [r.tokens for r in res]

    assert run(0) == run(0)
    assert run(0, top_p=0.9, top_k=20) == run(0, top_p=0.9, top_k=20)
    assert run(0) != run(1)
    assert run(5) == run(5, use_cache=False)


def test_generation_restores_training_mode() -> None:
    model = tiny().train()
    generate(model, [[1, 2, 3]], Sampling(3))
    assert model.training


def test_matvec_path_matches_linear() -> None:
    model = tiny()
    idx = torch.randint(0, V, (2, 5))
    pos = torch.arange(5).expand(2, 5)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()[None, None].expand(2, 1, 5, 5)
    with torch.inference_mode():
        ref = model.forward_cached(idx, pos, mask, last_only=False)
        out = model.forward_cached(idx, pos, mask, last_only=False, matvec=True)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_bf16_decoder_follows_weight_updates(trained: GPT) -> None:
    model = GPT(TINY, V)
    model.load_state_dict(trained.state_dict())
    prompts = [[3, 4, 5], [9]]
    dec = Decoder(model, max_batch=4, dtype=torch.bfloat16, compile=False)
    want = [r.tokens for r in generate(model, prompts, Sampling(10))]
    assert [r.tokens for r in dec.generate(prompts, Sampling(10))] == want
    with torch.no_grad():  # in-place change, as an optimizer step does: the bf16 copy must follow
        model.wte.weight.copy_(model.wte.weight.roll(1, dims=0))
    want = [r.tokens for r in generate(model, prompts, Sampling(10))]
    assert [r.tokens for r in dec.generate(prompts, Sampling(10))] == want


@pytest.mark.slow
def test_compiled_decoder_matches_eager() -> None:
    model = tiny()
    prompts = [[5, 6, 7, 8], [9], [10, 11]]
    dec = Decoder(model, max_batch=4, compile=True)
    for batch in ([prompts[0]], prompts):
        got = dec.generate(batch, Sampling(12))
        want = generate(model, batch, Sampling(12))
        assert [g.tokens for g in got] == [w.tokens for w in want]
        assert got[0].logprobs == pytest.approx(want[0].logprobs, abs=1e-4)
    # the compiled step is frozen (the weights folded in): weights changed in place (a training
    # step) must be seen, not the ones it was compiled with
    before = dec.generate(prompts, Sampling(12))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    got, want = dec.generate(prompts, Sampling(12)), generate(model, prompts, Sampling(12))
    assert [g.tokens for g in got] == [w.tokens for w in want]
    assert [g.tokens for g in got] != [b.tokens for b in before]


def test_same_shaped_models_share_a_compiled_step_not_their_weights() -> None:
    """The compiled decode step is shared by models of one shape and frozen (prepacked weights):
    each model still decodes with its own weights, in bf16 as in fp32."""
    prompts = [[5, 6, 7, 8], [9], [10, 11]]
    for dtype in (torch.float32, torch.bfloat16):
        first, second = tiny(1), tiny(2)
        runs = {}
        for name, model in (("first", first), ("second", second), ("first again", first)):
            dec = Decoder(model, max_batch=4, dtype=dtype, compile=True)
            runs[name] = [g.tokens for g in dec.generate(prompts, Sampling(12))]
            want = Decoder(model, max_batch=4, dtype=dtype, compile=False)
            assert runs[name] == [w.tokens for w in want.generate(prompts, Sampling(12))], name
        assert runs["first"] != runs["second"] and runs["first"] == runs["first again"]


@pytest.mark.slow
def test_compiled_dropout_hash() -> None:
    from bookgpt.model.gpt import dropout

    drop = torch.compile(lambda x: dropout(x, 0.1, True), dynamic=False)
    x = torch.ones(64, 1000)
    torch.manual_seed(0)
    a, b = drop(x), drop(x)
    torch.manual_seed(0)
    assert torch.equal(drop(x), a)  # the seed comes from torch's RNG
    assert (a != 0).float().mean().item() == pytest.approx(0.9, abs=0.01)
    assert a.max().item() == pytest.approx(1 / 0.9)
    assert ((a != 0) == (b != 0)).float().mean().item() == pytest.approx(0.82, abs=0.01)  # independent


@pytest.mark.slow
def test_compiled_fast_gelu_is_gpt2s_gelu() -> None:
    """Training's compiled GELU (the sigmoid form) gives GPT-2's tanh GELU, in fp32 and bf16."""
    from bookgpt.model.gpt import gelu

    x = torch.linspace(-8, 8, 10_001)
    fast = torch.compile(lambda t: gelu(t, fast=True), dynamic=False)
    torch.testing.assert_close(fast(x), F.gelu(x, approximate="tanh"), rtol=1e-5, atol=1e-6)
    xb = x.to(torch.bfloat16)
    torch.testing.assert_close(fast(xb), F.gelu(xb, approximate="tanh"), rtol=1.6e-2, atol=1e-2)
    assert torch.equal(gelu(x, fast=True), F.gelu(x, approximate="tanh"))  # eager: the plain op


@pytest.mark.slow
def test_compiled_training_forward_matches_eager() -> None:
    model = tiny()
    torch.manual_seed(4)
    x, y = torch.randint(0, V, (2, 40)), torch.randint(0, V, (2, 40))
    mask = torch.rand(2, 40) < 0.5
    want = [model(x, y)[1], model(x, y, loss_mask=mask)[1]]
    model.set_attn_block(16)
    model.compile_blocks()
    got = [model(x, y)[1], model(x, y, loss_mask=mask)[1]]
    for g, w in zip(got, want):
        assert g.item() == pytest.approx(w.item(), rel=1e-4)
