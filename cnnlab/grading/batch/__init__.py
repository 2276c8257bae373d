"""One lab's batch, in the batch's own process: its options, a job per submission, the worker processes."""
