"""gradatlas: train networks and watch their gradients vanish or explode.

``Client`` and ``AsyncClient`` talk to the service (docs/service.md); the
errors they raise are in :mod:`gradatlas.errors`, the shapes of their answers
in :mod:`gradatlas.types`; ``gradatlas.cli`` is the ``gradatlas`` command.
"""

from gradatlas.async_client import AsyncClient
from gradatlas.client import Client, GradatlasClient
from gradatlas.errors import (
    ApiError,
    ClientError,
    Conflict,
    InvalidRequest,
    InvalidSpec,
    InvalidURL,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    WaitTimeout,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "Conflict",
    "GradatlasClient",
    "InvalidRequest",
    "InvalidSpec",
    "InvalidURL",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
]
