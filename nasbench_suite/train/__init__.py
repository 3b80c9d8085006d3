"""Training a genotype's network from scratch: settings, batches, the trainer, DDP, and the
`train` and `describe` commands."""
