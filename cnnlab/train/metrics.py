"""Segmentation scores in NumPy: Dice and IoU per class, pixel error, and a model's scores on a split.

For the membrane masks, class 1 is cell interior (78% of the pixels) and class 0 membrane: the Dice of
class 0 says how well the thin membranes are found, which the pixel error hides.
"""

import numpy as np


def _masks(labels, predicted):
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"labels and predictions must have the same shape. Received: {labels.shape} and {predicted.shape}"
        )
    return labels, predicted


def dice(labels, predicted, label=1):
    """2 |P & T| / (|P| + |T|) for the pixels of class `label` (T in `labels`, P in `predicted`); 1 when both are
    empty."""
    labels, predicted = _masks(labels, predicted)
    truth, guess = labels == label, predicted == label
    total = truth.sum() + guess.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(truth, guess).sum() / total)


def iou(labels, predicted, label=1):
    """|P & T| / |P | T| for the pixels of class `label` (intersection over union); 1 if both are empty."""
    labels, predicted = _masks(labels, predicted)
    truth, guess = labels == label, predicted == label
    union = np.logical_or(truth, guess).sum()
    return 1.0 if union == 0 else float(np.logical_and(truth, guess).sum() / union)


def pixel_error(labels, predicted):
    """The fraction of pixels whose predicted class differs from the label (ISBI 2012's pixel error)."""
    labels, predicted = _masks(labels, predicted)
    return float(np.mean(labels != predicted))


def predict_masks(model, images, threshold=0.5, batch_size=1):
    """Class masks (N, H, W) of uint8 images (N, H, W): a sigmoid output above `threshold` is class 1,
    a softmax output its most likely class."""
    images = np.asarray(images)
    outputs = np.concatenate(
        [
            np.asarray(model.predict_on_batch(images[i : i + batch_size, ..., None]))
            for i in range(0, len(images), batch_size)
        ]
    )
    return classes_of(outputs, threshold).astype(np.uint8)


def classes_of(outputs, threshold=0.5):
    """The class of each output vector: one sigmoid channel above `threshold` is class 1, else the argmax."""
    outputs = np.asarray(outputs)
    return (outputs[..., 0] > threshold).astype(np.int64) if outputs.shape[-1] == 1 else outputs.argmax(axis=-1)


def scores(labels, predicted, classes=(0, 1)):
    """{"pixel_error", "dice_<k>", "iou_<k>" for each class k} of one set of masks."""
    result = {"pixel_error": pixel_error(labels, predicted)}
    for label in classes:
        result[f"dice_{label}"] = dice(labels, predicted, label)
        result[f"iou_{label}"] = iou(labels, predicted, label)
    return result
