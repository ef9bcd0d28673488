"""Errors in the shape OpenAI's clients expect: {"error": {message, type, param, code}}."""

from django.http import JsonResponse


class ApiError(Exception):
    status = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.param = param
        self.code = code or self.code
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        body = {"message": str(self), "type": self.type, "param": self.param, "code": self.code}
        response = JsonResponse({"error": body}, status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


class BodyTooLarge(ApiError):
    status, code = 413, "request_too_large"


class ContextLengthExceeded(ApiError):
    """The prompt does not fit in the model's context (and the request kept every turn)."""

    code = "context_length_exceeded"

    def __init__(self, message: str):
        super().__init__(message, param="messages")


class UnknownUrl(ApiError):
    status, code = 404, "unknown_url"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"

    def __init__(self, allowed: tuple[str, ...]):
        super().__init__(f"Use {' or '.join(allowed)} here.")
        self.allowed = allowed

    def response(self) -> JsonResponse:
        response = super().response()
        response["Allow"] = ", ".join(self.allowed)
        return response


class InvalidKey(ApiError):
    status, code = 401, "invalid_api_key"


class AccountPending(ApiError):
    status, type, code = 403, "permission_error", "account_pending"


class ModelNotFound(ApiError):
    status, code = 404, "model_not_found"


class RateLimited(ApiError):
    status, type, code = 429, "rate_limit_error", "rate_limit_exceeded"
    # Every 429 says when to come back: the SDKs wait that long before their retries; the
    # in-progress cap and the admission lock usually free up within a second or two.
    RETRY_AFTER = 1

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message, retry_after=retry_after or self.RETRY_AFTER)


class NoWorker(ApiError):
    status, type, code = 503, "server_error", "model_unavailable"


class GenerationFailed(ApiError):
    status, type, code = 500, "server_error", "generation_failed"


class ServerError(ApiError):
    """Anything else that went wrong: a JSON 500 still, for the client's error handling."""

    status, type, code = 500, "server_error", "internal_error"
