"""Maps configuration to Ray resources and runs BookGPT's distributed jobs."""
