"""The GPT-2 style model and batched KV-cache generation."""

from bookgpt.model.generate import Decoder, GenerationResult, generate
from bookgpt.model.gpt import GPT

__all__ = ["GPT", "Decoder", "GenerationResult", "generate"]
