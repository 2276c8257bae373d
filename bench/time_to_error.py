"""Time to the slide's test error, back to back on this machine, and input vs training throughput.

MNIST (target 1.2%): the keras.io "simple MNIST convnet" way (float32 numpy arrays straight into
`model.fit`, Adam, batch 128) against our tf.data pipeline + fast recipe, on the same network
(convnet-mnist). CIFAR-10 (target 28%): our fast recipe against the lecture recipe (the Adam baseline
stalls near 32%). Both sides are evaluated on the test set after the same number of training images
(`--every`); evaluations pause the clock. Prints each side's time, their ratio (goal <= 0.4), and the
input pipeline's images/s next to the training step's.

MNIST, end to end: whole processes timed back to back, imports and start-up included, as a user runs them:
`cnnlab reproduce convnet-mnist` (its default epochs) against a keras.io-style script (numpy arrays into
`fit`, Adam, batch 128, as many whole epochs as the in-run trace says it needs for 1.2%, then the test
error). Both print their test error; the ratio counts only if both reach the target. The script's time varies from
run to run (Keras' own tf.data adapter waits at the end of an epoch at random): `--repeats N` times N pairs and
compares the medians.

    CNNLAB_DATA_DIR=../shared/data python bench/time_to_error.py mnist
    CNNLAB_DATA_DIR=../shared/data python bench/time_to_error.py cifar10 --max-epochs 40
    CNNLAB_DATA_DIR=../shared/data python bench/time_to_error.py mnist --end-to-end-only 2 --repeats 5
"""

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np

from cnnlab import models
from cnnlab.data import load
from cnnlab.train import TimeToError, precision, recipes
from cnnlab.train.reproduce import prepare


def run_recipe(data, network, recipe_name, every_images, max_epochs, seed, policy):
    """Our pipeline + a recipe until the target error; returns (callback, batch size, splits)."""
    run = prepare(network, recipe_name, max_epochs, seed, data, policy)
    every = max(1, every_images // run.recipe.batch_size)
    timer = TimeToError(run.splits.test, run.recipe.target_error, every=every)
    run.model.fit(run.splits.train, epochs=run.epochs, verbose=0, callbacks=[timer], shuffle=False)
    return timer, run.recipe.batch_size, run.splits


def run_keras_io_baseline(data, network, target, every_images, max_epochs, seed):
    """numpy float32 arrays into model.fit, Adam (lr 1e-3), batch 128: keras.io's mnist_convnet.py way."""
    keras.utils.set_random_seed(seed)
    x_train = np.expand_dims(data.x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(data.x_test.astype("float32") / 255, -1)
    test = [(x_test[i : i + 1000], data.y_test[i : i + 1000]) for i in range(0, len(x_test), 1000)]
    model = models.build(network)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = TimeToError(test, target, every=max(1, every_images // 128))
    model.fit(x_train, data.y_train, batch_size=128, epochs=max_epochs, verbose=0, callbacks=[timer])
    return timer


# A keras.io-style script ("simple MNIST convnet"): the data as float32 numpy arrays, Adam, batch 128; the same
# network as ours (cnnlab's convnet-mnist, built without its preprocessing layers).
KERAS_IO_SCRIPT = """
import os, sys
import numpy as np
import keras
from cnnlab import models

with np.load(os.path.join(os.environ["CNNLAB_DATA_DIR"], "mnist.npz")) as mnist:
    x_train, y_train, x_test, y_test = (mnist[k] for k in ("x_train", "y_train", "x_test", "y_test"))
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
keras.utils.set_random_seed(int(sys.argv[2]))
model = models.build("convnet-mnist")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=int(sys.argv[1]), verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test error {100 * (1 - accuracy):.2f}%")
"""


def timed_process(command):
    """(wall seconds, test error in % as the process printed it, or None) of one whole process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    found = re.search(r"test error ([0-9.]+)%", done.stdout)
    if done.returncode or not found:
        print(f"{' '.join(command)} failed: {(done.stderr.strip().splitlines() or [''])[-1]}")
    return seconds, float(found.group(1)) if found else None


def end_to_end(baseline_epochs, seed, target_percent, repeats=1):
    """Time `cnnlab reproduce convnet-mnist` and the keras.io-style script as whole processes, back to back,
    `repeats` times (alternately); the ratio of the medians."""
    cnnlab = os.path.join(os.path.dirname(sys.executable), "cnnlab")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(KERAS_IO_SCRIPT)
    ours, theirs, errors = [], [], []
    try:
        for _ in range(repeats):
            seconds, our_error = timed_process([cnnlab, "reproduce", "convnet-mnist", "--seed", str(seed)])
            ours.append(seconds)
            seconds, their_error = timed_process([sys.executable, script.name, str(baseline_epochs), str(seed)])
            theirs.append(seconds)
            errors += [our_error, their_error]
            print(f"end to end, keras.io-style script ({baseline_epochs} epochs): {their_error}% in {theirs[-1]:.1f} s")
            print(f"end to end, cnnlab reproduce convnet-mnist: {our_error}% in {ours[-1]:.1f} s")
    finally:
        os.unlink(script.name)
    reached = all(error is not None and error <= target_percent for error in errors)
    verdict = "" if reached else f" (not both at {target_percent}%: not comparable)"
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"end-to-end ratio{' of the medians' if repeats > 1 else ''}: {ratio:.2f}{verdict} (goal <= 0.4)")


def pipeline_throughput(splits):
    """Images/s of one pass over the training pipeline alone (after a first pass fills the cache)."""
    for _ in splits.train:
        pass
    start = time.perf_counter()
    for _ in splits.train:
        pass
    return splits.train_size / (time.perf_counter() - start)


def report(label, timer, batch_size, train_size):
    trained = timer.trace[-1][0] * batch_size if timer.trace else 0
    rate = trained / timer.trace[-1][1] if timer.trace else float("nan")
    if timer.reached:
        step, seconds, error = timer.reached
        print(
            f"{label}: {100 * error:.2f}% after {step} steps ({step * batch_size / train_size:.2f} epochs) "
            f"in {seconds:.1f} s; train step {rate:.0f} images/s"
        )
    else:
        best = min(error for _, _, error in timer.trace)
        print(
            f"{label}: target not reached (best {100 * best:.2f}%) in {timer.trace[-1][1]:.1f} s; "
            f"train step {rate:.0f} images/s"
        )
    return timer.reached[1] if timer.reached else math.inf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=("mnist", "cifar10"))
    parser.add_argument("--every", type=int, default=7680, help="training images between test evaluations")
    parser.add_argument("--max-epochs", type=int, help="epochs for the slower side (default: mnist 4, cifar10 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", help="dtype policy of our recipes (default: auto)")
    parser.add_argument(
        "--end-to-end-only",
        type=int,
        metavar="EPOCHS",
        help="mnist: only the end-to-end timing, the keras.io-style script training EPOCHS epochs",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="end to end: pairs of whole processes to time (the ratio of the medians)"
    )
    args = parser.parse_args()
    if args.end_to_end_only:
        return end_to_end(
            args.end_to_end_only, args.seed, 100 * recipes.get("convnet-mnist", "fast").target_error, args.repeats
        )
    network = f"convnet-{args.dataset}"
    data = load(args.dataset)
    target_error = recipes.get(network, "fast").target_error
    if args.dataset == "mnist":
        slow = run_keras_io_baseline(data, network, target_error, args.every, args.max_epochs or 4, args.seed)
        slow_seconds = report("keras.io baseline (numpy, Adam, batch 128)", slow, 128, len(data.x_train))
    else:
        slow, batch_size, _ = run_recipe(
            data, network, "lecture", args.every, args.max_epochs or 40, args.seed, args.precision
        )
        slow_seconds = report(
            "lecture recipe (SGD 1e-2, batch 128, lambda 1e-2, sigma 0.1)", slow, batch_size, len(data.x_train)
        )
    fast, batch_size, splits = run_recipe(data, network, "fast", args.every, None, args.seed, args.precision)
    fast_seconds = report(
        f"pipeline + fast recipe ({precision.resolve(args.precision)})", fast, batch_size, splits.train_size
    )
    target = f"{100 * target_error:.1f}%"
    if math.isinf(slow_seconds) or math.isinf(fast_seconds):
        print(f"in-run ratio of times to {target}: undefined, a side did not reach it (raise --max-epochs)")
    else:
        print(f"in-run ratio of times to {target}: {fast_seconds / slow_seconds:.2f} (goal <= 0.4)")
    print(f"input pipeline alone: {pipeline_throughput(splits):.0f} images/s")
    if args.dataset == "mnist" and slow.reached:
        epochs = math.ceil(slow.reached[0] * 128 / len(data.x_train))  # the whole epochs the baseline needs
        end_to_end(epochs, args.seed, 100 * target_error, args.repeats)


if __name__ == "__main__":
    main()
