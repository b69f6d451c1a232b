"""The GPT-2 style model and batched KV-cache generation (the function: bookgpt.model.generate.generate)."""

from bookgpt.model.generate import Decoder, GenerationResult, Sampling
from bookgpt.model.gpt import GPT

__all__ = ["GPT", "Decoder", "GenerationResult", "Sampling"]
