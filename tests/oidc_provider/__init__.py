"""A real OpenID Connect provider for the sign-in tests: django-oauth-toolkit in a Django
process of its own, with its own database, a key made at start and seeded users."""
