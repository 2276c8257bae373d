"""Inside a one-shot jail: load one student's `.keras` file, measure it, write plain data, exit.

`python -m cnnlab.grading.model_probe REQUEST.json` (started by `cnnlab.grading.checks` through the jail).
The request names the model file, the measures (one per check of the lab's config, thresholds and points left
out) and, for predictions, `.npy` files of test images (never the labels). It writes, in its folder:

- `started`, first of all (a jail that never wrote it failed to start: the grader's fault, not the student's);
- `probe.json`: {"load_error": str | null, "seconds": {"load": s, "measures": s},
  "values": [one per measure: int, list, or {"outputs": "outputs-<i>.npy"}, or {"error": str}]};
- `outputs-<i>.npy`: the model's raw outputs on the images of measure i (float32; no pickle).

Scoring (thresholds, accuracy, Dice, points) happens in the grader's process, on this data.
"""

import gc
import json
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def measure(model, spec, folder, index):
    """One measured value: params, output_shape, ops, or the model's outputs on the given images."""
    import numpy as np

    kind = spec["kind"]
    if kind == "params":
        if spec.get("trainable"):
            return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        return int(model.count_params())
    if kind == "output_shape":
        shapes = [_shape(o.shape) for o in model.outputs]  # model.outputs: a Sequential model has no .output
        return shapes[0] if len(shapes) == 1 else shapes
    if kind == "ops":
        from cnnlab.profile import profile

        return int(profile(model, convention=spec.get("convention", "deck"), rows="layers",
                           softmax_ops=spec.get("softmax_ops", True)).total_ops)
    if kind == "outputs":
        x = np.load(spec["images"], allow_pickle=False)
        spatial = len(model.outputs[0].shape) > 2
        outputs = model.predict(x, batch_size=spec.get("batch_size") or (4 if spatial else 500), verbose=0)
        name = f"outputs-{index}.npy"
        np.save(Path(folder) / name, np.asarray(outputs, dtype="float32"), allow_pickle=False)
        return {"outputs": name}
    raise ValueError(f"unknown measure {kind!r}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    request = json.loads(Path(argv[0]).read_text())
    folder = Path(request["folder"])
    (folder / "started").touch()
    result = {"load_error": None, "values": [], "seconds": {}}
    started = time.monotonic()
    try:
        if os.environ.get("KERAS_BACKEND") == "tensorflow":
            # Never used here, imported by TensorFlow Lite (JAX) and Keras' plotting (matplotlib) when installed.
            # Without them a model check took 3.6 s (MNIST) and 4.0 s (CIFAR-10) instead of 5.1 and 5.5 s on the
            # course's 2-core machine; under JAX it took 4.8 and 12.9 s (JAX's CPU convolutions are slow).
            sys.modules.update({unused: None for unused in ("jax", "matplotlib") if unused not in sys.modules})
        import keras

        import cnnlab.blocks  # noqa: F401  (registers cnnlab's layers for deserialization)

        with zipfile.ZipFile(request["model"]) as archive:  # checked by cnnlab.grading.modelfile before
            if b"cnnlab>FanInUniform" in archive.read("config.json"):
                import cnnlab.train.recipes  # noqa: F401  (registers FanInUniform; imports TensorFlow)

        model = keras.saving.load_model(request["model"], compile=False, safe_mode=True)
    except Exception as error:  # the student's file: its error is the reason
        result["load_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        model = None
    result["seconds"]["load"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    if model is not None:
        for index, spec in enumerate(request["measures"]):
            try:
                result["values"].append(measure(model, spec, folder, index))
            except Exception as error:
                result["values"].append({"error": f"{type(error).__name__}: {str(error)[:200]}"})
                traceback.print_exc()
    result["seconds"]["measures"] = round(time.monotonic() - started, 3)
    (folder / "probe.json.tmp").write_text(json.dumps(result))
    (folder / "probe.json.tmp").rename(folder / "probe.json")
    gc.freeze()  # done: skip the collector's pass at exit (1 s after TensorFlow's import)


if __name__ == "__main__":
    main()
