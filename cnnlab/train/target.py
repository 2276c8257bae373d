"""A callback that measures the training time to a target test error, and stops there."""

import time

import keras
import numpy as np

from cnnlab.train import metrics


class TimeToError(keras.callbacks.Callback):
    """Every `every` steps, evaluate the error on `data`; stop once it is <= `target`.

    The evaluations pause the clock: `seconds` is the training time alone (graph tracing included).
    `trace` lists (step, seconds, error) for each evaluation; `reached` is the first one at the target
    or None. With several steps per call (`steps_per_execution`), an evaluation comes at the end of the first
    call that reaches the next multiple of `every`.
    """

    def __init__(self, data, target, every):
        super().__init__()
        self.data, self.target, self.every = data, target, every
        self.trace, self.reached = [], None

    def on_train_begin(self, logs=None):
        self.step, self.seconds, self._start = 0, 0.0, time.perf_counter()
        self._next = self.every

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None):
        # batch: the epoch's last step in this call; Keras counts a whole call even where the epoch ends first
        self.step = self._epoch_start + min(batch + 1, self.params.get("steps") or batch + 1)
        if self.step < self._next:
            return
        self._next = (self.step // self.every + 1) * self.every
        self.seconds += time.perf_counter() - self._start
        error = test_error(self.model, self.data)
        self.trace.append((self.step, self.seconds, error))
        if error <= self.target and self.reached is None:
            self.reached = self.trace[-1]
            self.model.stop_training = True
        self._start = time.perf_counter()


def test_error(model, data):
    """The fraction of misclassified images in `data`, batches of (images, labels): tf.data, a PyDataset or a
    list. The batches become NumPy arrays first: JAX and PyTorch models take no TensorFlow tensors."""
    wrong = total = 0
    for images, labels in data:
        predicted = metrics.classes_of(model.predict_on_batch(np.asarray(images)))
        labels = np.asarray(labels)
        if labels.ndim == 2:  # one-hot
            labels = labels.argmax(axis=-1)
        wrong += int(np.sum(predicted != labels))
        total += len(labels)
    return wrong / total


def classification_error(model, splits):
    """The test error on `splits.test`, and no further scores."""
    return test_error(model, splits.test), {}


def pixel_error(model, splits):
    """The pixel error on the validation slices, with the Dice and IoU of each class (`metrics.scores`)."""
    data = splits.data
    scores = metrics.scores(data.y_val, metrics.predict_masks(model, data.x_val))
    return scores["pixel_error"], scores


# A recipe's `error` names its error function: f(model, splits) -> (fraction, scores).
ERRORS = {"classification": classification_error, "pixel": pixel_error}
