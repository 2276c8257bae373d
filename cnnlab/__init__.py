"""cnnlab: the course package for the lecture "Computer vision and CNN architectures"."""

__version__ = "0.1.0"
