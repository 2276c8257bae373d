"""A builder for every network of the lecture: `build(name, **options) -> keras.Model`.

One `register` line per network: the builder and its configuration, as data.
"""

from cnnlab.models.alexnet import alexnet
from cnnlab.models.convnet import convnet
from cnnlab.models.densenet import cifar_densenet, densenet
from cnnlab.models.googlenet import googlenet, inception_5b
from cnnlab.models.lenet import lenet5
from cnnlab.models.registry import NETWORKS, Network, build, get, names, register
from cnnlab.models.resnet import cifar_resnet, resnet
from cnnlab.models.unet import unet
from cnnlab.models.vgg import vgg

# The first table of the deck gives softmax 0 operations; every later table gives it one per output.
register("convnet-mnist", convnet, defaults={"input_shape": (28, 28, 1)}, table_options={"softmax_ops": False})
register("convnet-cifar10", convnet, defaults={"input_shape": (32, 32, 3)}, table_options={"softmax_ops": False})
register("lenet5", lenet5)
register("alexnet", alexnet)
register("vgg11", vgg, config="A")
register("vgg11-lrn", vgg, config="A-LRN")
register("vgg13", vgg, config="B")
register("vgg16-c", vgg, config="C")
register("vgg16", vgg, config="D")
register("vgg19", vgg, config="E")
register("inception-5b-naive", inception_5b, naive=True)
register("inception-5b", inception_5b, naive=False)
register("googlenet", googlenet)
register("resnet18", resnet, unit="basic", stages=(2, 2, 2, 2))
register("resnet34", resnet, unit="basic", stages=(3, 4, 6, 3))
register("resnet50", resnet, unit="bottleneck", stages=(3, 4, 6, 3))
register("resnet101", resnet, unit="bottleneck", stages=(3, 4, 23, 3))
register("resnet152", resnet, unit="bottleneck", stages=(3, 8, 36, 3))
register("plain18", resnet, unit="basic", stages=(2, 2, 2, 2), shortcut=None)
register("plain34", resnet, unit="basic", stages=(3, 4, 6, 3), shortcut=None)
register("resnet20", cifar_resnet, stages=(3, 3, 3))
register("resnet56", cifar_resnet, stages=(9, 9, 9))
register("plain20", cifar_resnet, stages=(3, 3, 3), shortcut=None)
register("plain56", cifar_resnet, stages=(9, 9, 9), shortcut=None)
register("densenet121", densenet, blocks=(6, 12, 24, 16), growth_rate=32)
register("densenet169", densenet, blocks=(6, 12, 32, 32), growth_rate=32)
register("densenet201", densenet, blocks=(6, 12, 48, 32), growth_rate=32)
register("densenet161", densenet, blocks=(6, 12, 36, 24), growth_rate=48)
register("densenet-bc-cifar", cifar_densenet)
register("unet", unet)

__all__ = ["NETWORKS", "Network", "build", "get", "names", "register"]
