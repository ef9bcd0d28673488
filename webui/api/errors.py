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


class InvalidKey(ApiError):
    status, code = 401, "invalid_api_key"


class AccountPending(ApiError):
    status, type, code = 403, "permission_error", "account_pending"


class ModelNotFound(ApiError):
    status, code = 404, "model_not_found"


class RateLimited(ApiError):
    status, type, code = 429, "rate_limit_error", "rate_limit_exceeded"


class NoWorker(ApiError):
    status, type, code = 503, "server_error", "model_unavailable"


class GenerationFailed(ApiError):
    status, type, code = 500, "server_error", "generation_failed"
