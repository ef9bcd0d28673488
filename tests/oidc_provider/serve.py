"""Run the test provider: `python -m tests.oidc_provider.serve PORT`.

The environment names its folder (OIDC_PROVIDER_DIR), the client's secret, where the
client's sign-ins come back to (OIDC_REDIRECT_URI) and where its log-outs end
(OIDC_POST_LOGOUT_URI). It makes its database, seeds it, then serves until stopped.
"""

import os
import sys


def main(port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    from tests.oidc_provider.seed import seed

    call_command("migrate", verbosity=0)
    seed(
        client_secret=os.environ["OIDC_CLIENT_SECRET"],
        redirect_uri=os.environ["OIDC_REDIRECT_URI"],
        post_logout_uri=os.environ["OIDC_POST_LOGOUT_URI"],
    )
    run("127.0.0.1", port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
