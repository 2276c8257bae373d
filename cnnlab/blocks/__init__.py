"""Keras 3 layer blocks of the lecture's networks (keras.layers / keras.ops only: any backend)."""

from cnnlab.blocks.conv import avg_pool, classifier, conv_unit, fc, max_pool
from cnnlab.blocks.dense import dense_block, dense_unit, transition
from cnnlab.blocks.inception import inception_module, naive_inception_module
from cnnlab.blocks.lenet import RBFOutput, ScaledTanh, TrainableSubsampling, digit_codes
from cnnlab.blocks.lrn import LocalResponseNormalization
from cnnlab.blocks.residual import Subsample, ZeroPadChannels, bottleneck_unit, residual_unit
from cnnlab.blocks.shapes import InputTooSmallError, call_checked
from cnnlab.blocks.unet import decoder_step, double_conv, encoder_step

__all__ = [
    "avg_pool",
    "classifier",
    "conv_unit",
    "fc",
    "max_pool",
    "dense_block",
    "dense_unit",
    "transition",
    "inception_module",
    "naive_inception_module",
    "RBFOutput",
    "ScaledTanh",
    "TrainableSubsampling",
    "digit_codes",
    "LocalResponseNormalization",
    "Subsample",
    "ZeroPadChannels",
    "bottleneck_unit",
    "residual_unit",
    "InputTooSmallError",
    "call_checked",
    "decoder_step",
    "double_conv",
    "encoder_step",
]
