"""Normalization and augmentation as Keras preprocessing layers, placed inside the model.

Inside the model they run where the model runs (the GPU when there is one), are saved with it in the
.keras file, and the random layers are active only in training.
"""

import keras
import numpy as np
from keras import layers

AUGMENTATIONS = ("none", "translate", "flip-translate")


def normalization(x_train, name="normalize"):
    """uint8 -> float: rescale to [0, 1], then per-channel standardization with the training set's statistics."""
    pixels = x_train.reshape(len(x_train), -1, 1 if x_train.ndim == 3 else x_train.shape[-1])
    mean = pixels.mean(axis=(0, 1), dtype=np.float64) / 255
    std = pixels.std(axis=(0, 1), dtype=np.float64) / 255
    return [layers.Rescaling(1 / 255, name=f"{name}_rescale"),
            layers.Normalization(mean=mean, variance=std ** 2, name=name)]


def augmentation(kind, seed=0, shift=0.1):
    """Random layers for `kind`: "none"; "translate" (shift by up to `shift` of the size, zero fill, for
    digits, which must not be flipped); "flip-translate" (horizontal flip, then translate: CIFAR-10)."""
    if kind not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {kind!r}. Known: {', '.join(AUGMENTATIONS)}. Received: kind={kind!r}")
    translate = layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed, name="augment_translate")
    return {"none": [],
            "translate": [translate],
            "flip-translate": [layers.RandomFlip("horizontal", seed=seed, name="augment_flip"), translate]}[kind]


def with_preprocessing(model, x_train, augment="none", seed=0):
    """`model` behind a uint8 input, [augmentation] and normalization: it takes raw pipeline batches.

    The result is named like `model`, whose layers stay reachable as `result.get_layer(model.name)`.
    """
    inputs = keras.Input(model.input_shape[1:], dtype="uint8", name="image")
    x = inputs
    for layer in augmentation(augment, seed) + normalization(x_train):
        x = layer(x)
    return keras.Model(inputs, model(x), name=model.name)
