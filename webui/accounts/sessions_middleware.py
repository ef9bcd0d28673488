"""Each signed-in session's "last seen", written at most once a minute."""

from webui.accounts import sessions


class SessionSeenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.session.session_key:
            sessions.touch(request)
        return self.get_response(request)
