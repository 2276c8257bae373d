"""Time to the slide's test error, back to back on this machine, and input vs training throughput.

MNIST (target 1.2%): the keras.io "simple MNIST convnet" way (float32 numpy arrays straight into
`model.fit`, Adam, batch 128) against our tf.data pipeline + fast recipe, on the same network
(convnet-mnist). CIFAR-10 (target 28%): our fast recipe against the lecture recipe (the Adam baseline
stalls near 32%). Both sides are evaluated on the test set after the same number of training images
(`--every`); evaluations pause the clock. Prints each side's time, their ratio (goal <= 0.4), and the
input pipeline's images/s next to the training step's.

    CNNLAB_DATA_DIR=../shared/data python bench/time_to_error.py mnist
    CNNLAB_DATA_DIR=../shared/data python bench/time_to_error.py cifar10 --max-epochs 40
"""

import argparse
import math
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
    test = [(x_test[i:i + 1000], data.y_test[i:i + 1000]) for i in range(0, len(x_test), 1000)]
    model = models.build(network)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = TimeToError(test, target, every=max(1, every_images // 128))
    model.fit(x_train, data.y_train, batch_size=128, epochs=max_epochs, verbose=0, callbacks=[timer])
    return timer


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
        print(f"{label}: {100 * error:.2f}% after {step} steps ({step * batch_size / train_size:.2f} epochs) "
              f"in {seconds:.1f} s; train step {rate:.0f} images/s")
    else:
        best = min(error for _, _, error in timer.trace)
        print(f"{label}: target not reached (best {100 * best:.2f}%) in {timer.trace[-1][1]:.1f} s; "
              f"train step {rate:.0f} images/s")
    return timer.reached[1] if timer.reached else math.inf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=("mnist", "cifar10"))
    parser.add_argument("--every", type=int, default=7680, help="training images between test evaluations")
    parser.add_argument("--max-epochs", type=int, help="epochs for the slower side (default: mnist 4, cifar10 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", help="dtype policy of our recipes (default: auto)")
    args = parser.parse_args()
    network = f"convnet-{args.dataset}"
    data = load(args.dataset)
    target_error = recipes.get(network, "fast").target_error
    if args.dataset == "mnist":
        slow = run_keras_io_baseline(data, network, target_error, args.every, args.max_epochs or 4, args.seed)
        slow_seconds = report("keras.io baseline (numpy, Adam, batch 128)", slow, 128, len(data.x_train))
    else:
        slow, batch_size, _ = run_recipe(data, network, "lecture", args.every, args.max_epochs or 40, args.seed,
                                       args.precision)
        slow_seconds = report("lecture recipe (SGD 1e-2, batch 128, lambda 1e-2, sigma 0.1)", slow, batch_size,
                              len(data.x_train))
    fast, batch_size, splits = run_recipe(data, network, "fast", args.every, None, args.seed, args.precision)
    fast_seconds = report(f"pipeline + fast recipe ({precision.resolve(args.precision)})", fast, batch_size,
                          splits.train_size)
    target = f"{100 * target_error:.1f}%"
    if math.isinf(slow_seconds) or math.isinf(fast_seconds):
        print(f"ratio of times to {target}: undefined, a side did not reach it (raise --max-epochs)")
    else:
        print(f"ratio of times to {target}: {fast_seconds / slow_seconds:.2f} (goal <= 0.4)")
    print(f"input pipeline alone: {pipeline_throughput(splits):.0f} images/s")


if __name__ == "__main__":
    main()
