"""The worker: one process that keeps one model resident and answers its queue."""
