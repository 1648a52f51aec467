"""Workflows over the library that own a folder on disk: a training run (:mod:`.train`, what ``aekit train``
calls) and the out-of-the-box demo (:mod:`.demo`)."""

from aekit.runs.train import TrainRun, parse_sets, read_config_file, split_options, train_run

__all__ = ["train_run", "read_config_file", "split_options", "parse_sets", "TrainRun"]
