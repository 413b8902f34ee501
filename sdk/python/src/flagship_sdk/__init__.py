"""Flagship's Python SDK: typed methods for every API operation, over supabase-py.

from flagship_sdk import Flagship

client = Flagship("https://project.example", anon_key)
client.auth.sign_in(email="alice@example.com", password="...")
client.learning.enroll(course_id=course_id)
courses = client.learning.courses.list(order=["title"], limit=10)
"""

from flagship_sdk.auth import Session, SignUp
from flagship_sdk.client import Flagship
from flagship_sdk.errors import (
    AuthError,
    ConflictError,
    FlagshipError,
    InvalidArgumentError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    RefusedError,
    ResponseShapeError,
    ServerError,
)
from flagship_sdk.models import Me, TokenResponse, Uploaded
from flagship_sdk.query import Query, View

__version__ = "0.1.0"
__all__ = [
    "AuthError",
    "ConflictError",
    "Flagship",
    "FlagshipError",
    "InvalidArgumentError",
    "Me",
    "NotAuthenticatedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Query",
    "RateLimitedError",
    "RefusedError",
    "ResponseShapeError",
    "ServerError",
    "Session",
    "SignUp",
    "TokenResponse",
    "Uploaded",
    "View",
    "__version__",
]
