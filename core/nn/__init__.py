"""The NumPy engine: activations, initialisers, layers, the network, loss, optimisers.

Imports NumPy only; takes plain arguments, never settings or specs.
"""

from .activations import ACTIVATIONS, ActivationFunction, make_activation
from .init import INITIALISERS
from .layers import BatchNorm, Dense
from .loss import softmax_cross_entropy
from .network import MLP, Workspace
from .optim import Optimizer, clip_global_norm, make_optimizer

__all__ = [
    "ACTIVATIONS",
    "INITIALISERS",
    "MLP",
    "ActivationFunction",
    "BatchNorm",
    "Dense",
    "Optimizer",
    "Workspace",
    "clip_global_norm",
    "make_activation",
    "make_optimizer",
    "softmax_cross_entropy",
]
