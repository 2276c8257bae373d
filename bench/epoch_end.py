"""tf.data's autotuning and the end of each epoch: convnet-mnist's fast recipe for a few epochs, with the pipeline
as `cnnlab.data.pipeline.make` builds it (autotuning off) and with autotuning turned back on, alternately.

Keras makes a new iterator over the training set every epoch and drops the old one; with autotuning on, dropping it
waits for tf.data's tuning thread. Prints each epoch's time as the callbacks see it, and the whole `fit`, whose
difference from their sum is the wait after the last epoch.

    CNNLAB_DATA_DIR=../shared/data python bench/epoch_end.py [--epochs 3] [--rounds 3]
"""

import argparse
import time

import keras
import tensorflow as tf

from cnnlab.data import load
from cnnlab.train.reproduce import prepare


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def timed_fit(data, epochs, autotune):
    """(whole fit in s, each epoch's s) of the fast recipe, the training pipeline's autotuning on or off."""
    run = prepare("convnet-mnist", "fast", epochs, 0, data)
    train = run.splits.train
    if autotune:
        options = tf.data.Options()
        options.autotune.enabled = True
        train = train.with_options(options)
    epoch_times = EpochTimes()
    start = time.perf_counter()
    run.model.fit(train, epochs=epochs, verbose=0, shuffle=False, callbacks=[epoch_times])
    return time.perf_counter() - start, epoch_times.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = load("mnist")
    totals = {False: [], True: []}
    for _ in range(args.rounds):
        for autotune in (False, True):
            whole, epochs = timed_fit(data, args.epochs, autotune)
            totals[autotune].append(whole)
            print(
                f"autotuning {'on ' if autotune else 'off'}: fit {whole:5.1f} s; epochs "
                f"{', '.join(f'{s:.1f}' for s in epochs)} s; after the last epoch {whole - sum(epochs):.1f} s"
            )
    for autotune, label in ((False, "off"), (True, "on ")):
        runs = totals[autotune]
        print(f"autotuning {label}, {len(runs)} fits: mean {sum(runs) / len(runs):.1f} s, slowest {max(runs):.1f} s")
    print(f"mean off/on: {sum(totals[False]) / sum(totals[True]):.2f} (the waits come at random: run more rounds)")


if __name__ == "__main__":
    main()
