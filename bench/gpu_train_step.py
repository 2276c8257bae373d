"""On a GPU (any Keras backend, JAX on the course's device): every network takes a compiled training
step in mixed precision, and the big ImageNet networks' step time in float32 vs mixed_float16.

Run: `KERAS_BACKEND=jax python bench/gpu_train_step.py [--quick] [names...]`. Prints, per network, ms per step
and the ratio mixed/float32 measured back to back in this process, and checks every loss is finite.
"""

import sys
import time

import keras
import numpy as np

from cnnlab import models

BIG = {
    "alexnet": (227, 227, 3),
    "vgg16": (224, 224, 3),
    "googlenet": (224, 224, 3),
    "resnet50": (224, 224, 3),
    "densenet121": (224, 224, 3),
}
SMALL_INPUT = {"convnet-mnist": (28, 28, 1), "lenet5": (32, 32, 1), "alexnet": (67, 67, 3)}
SKIP = {"inception-5b", "inception-5b-naive"}  # a module, not a classifier


def build(name, shape, policy):
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    if name == "unet":
        model = models.build(name, input_shape=(128, 128, 1), padding="same", num_classes=2)
    else:
        model = models.build(name, input_shape=shape, num_classes=10)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy", jit_compile=True
    )
    return model


def step_ms(model, batch, steps):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, *model.input_shape[1:])).astype("float32")
    y = rng.integers(0, model.output_shape[-1], size=(batch, *model.output_shape[1:-1]))
    loss = model.train_on_batch(x, y)  # compiles
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)  # returns a Python float: the step has finished
    return 1000 * (time.perf_counter() - start) / steps, float(loss)


def main(quick, names):
    print(f"backend {keras.backend.backend()}, devices: {keras.distribution.list_devices()}")
    failures = []
    print(f"{'network':20s} {'batch':>5s} {'fp32 ms':>8s} {'mixed ms':>9s} {'ratio':>6s}  loss")
    for name in names or models.names():
        if name in SKIP:
            continue
        big = name in BIG and not quick
        shape = BIG[name] if big else SMALL_INPUT.get(name, (32, 32, 3))
        batch = 64 if big else 16
        fp32 = step_ms(build(name, shape, "float32"), batch, 10)[0] if big else None
        mixed, loss = step_ms(build(name, shape, "mixed_float16"), batch, 10 if big else 2)
        if not np.isfinite(loss):
            failures.append(name)
        ratio = f"{mixed / fp32:6.2f}" if fp32 else ""
        fp32_text = f"{fp32:8.1f}" if fp32 else ""
        print(f"{name:20s} {batch:5d} {fp32_text:>8s} {mixed:9.1f} {ratio:>6s}  {loss:.3f}", flush=True)
    keras.mixed_precision.set_global_policy("float32")
    print("non-finite loss: " + (", ".join(failures) if failures else "none"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv, [arg for arg in sys.argv[1:] if arg != "--quick"]))
