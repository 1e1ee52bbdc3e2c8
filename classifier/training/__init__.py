"""Training: the command (`python -m classifier.training.train`), one module per recipe
(frozen, finetune, the news heads) and what they share (args, common, tasks, evaluate)."""
