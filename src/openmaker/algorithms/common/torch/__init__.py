"""The kit every PyTorch algorithm shares (BlazingText's batch_skipgram, NTM, ...).

Importing this package never imports torch; :func:`runtime.import_torch` does, lazily, and
fails with a :class:`~openmaker.errors.MissingExtraError` naming the ``torch`` extra.

Modules:

* ``runtime``: ``import_torch``, ``choose_device``, ``seed_everything``, ``cpu_count``,
  ``threads_for_step`` (one CPU thread for small steps);
* ``optim``: optimizers by SageMaker's names (``sgd``, ``adam``, ``adagrad``, ``adadelta``,
  ``rmsprop``, ``auto``) with MXNet's constants, and MXNet's ``rescale_gradient`` /
  element-wise ``clip_gradient``;
* ``early_stopping``: ``tolerance`` / ``num_patience_epochs`` on a declared metric, best epoch;
* ``loop``: ``run_epochs``, the epoch loop (SageMaker's metric lines, early stopping, best
  model, a checkpoint per epoch, resuming);
* ``checkpoint``: fingerprinted, atomic checkpoints in the job's checkpoint folder.
"""
