"""Training: checkpoints, the generic training loop, pretraining and fine-tuning of one book."""
