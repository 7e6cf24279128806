"""One error tree for UserOps.

    UserOpsError                 base; ``status`` is the HTTP status, ``exit_code`` the CLI's
    ├── ConfigError              a setting or config file is wrong            (400 / exit 2)
    ├── BadRequest               input is invalid; names the field or line    (400 / exit 2)
    │   └── PayloadTooLarge      over a size limit                            (413 / exit 2)
    ├── Unauthorized             no credential, or a wrong or revoked one     (401 / exit 2)
    ├── Forbidden                signed in, but the role is too low           (403 / exit 2)
    │   └── CsrfRejected         a change by cookie without its CSRF token    (403 / exit 2)
    ├── NotFound                 unknown project, person, merge ...           (404 / exit 2)
    ├── Conflict                 the request clashes with current state       (409 / exit 1)
    ├── StoreLocked              another process owns the data directory      (409 / exit 3)
    └── RateLimited              too many attempts; ``retry_after`` seconds   (429 / exit 1)

API handlers and the CLI render these in one place each; nothing else maps errors to codes.
"""

from __future__ import annotations


class UserOpsError(Exception):
    status: int = 500
    exit_code: int = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"error": type(self).__name__, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class ConfigError(UserOpsError):
    status = 400
    exit_code = 2


class BadRequest(UserOpsError):
    status = 400
    exit_code = 2


class PayloadTooLarge(BadRequest):
    status = 413


class Unauthorized(UserOpsError):
    status = 401
    exit_code = 2


class Forbidden(UserOpsError):
    status = 403
    exit_code = 2


class CsrfRejected(Forbidden):
    pass


class NotFound(UserOpsError):
    status = 404
    exit_code = 2


class Conflict(UserOpsError):
    status = 409
    exit_code = 1


class StoreLocked(UserOpsError):
    status = 409
    exit_code = 3


class RateLimited(UserOpsError):
    status = 429
    exit_code = 1

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
