"""BookGPT: a tiny GPT-2 per book, trained from scratch, fine-tuned for Q&A, routed and served."""

__version__ = "0.1.0"
