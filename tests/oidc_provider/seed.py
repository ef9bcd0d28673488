"""The provider's people and its one client, Homefire (plain data, importable anywhere)."""

CLIENT_ID = "homefire-tests"

# username: (password, email, given name, family name, the provider's groups)
PEOPLE = {
    "olivia": ("olivia-at-the-provider", "olivia@example.org", "Olivia", "Ortega", ["engineering"]),
    "nolan": ("nolan-at-the-provider", "nolan@example.org", "Nolan", "North", []),
    # Same username and email as the Homefire admin the tests make: a different person.
    "admin": ("admin-at-the-provider", "boss@example.org", "Not", "Theboss", ["engineering"]),
}


def seed(*, client_secret: str, redirect_uri: str, post_logout_uri: str) -> None:
    """Create the people, their groups and the Homefire client (in a fresh database)."""
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    for username, (password, email, first, last, groups) in PEOPLE.items():
        user = User.objects.create_user(
            username, email=email, password=password, first_name=first, last_name=last
        )
        user.groups.set(Group.objects.get_or_create(name=name)[0] for name in groups)
    Application.objects.create(
        name="Homefire",
        client_id=CLIENT_ID,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=post_logout_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,
    )
