"""The directory (LDAP, Active Directory) as django-python3-ldap is told about it.

The library reads settings named LDAP_AUTH_*; Homefire's operators set HOMEFIRE_LDAP_*
(webui/settings.py, docs/operations.md). `library_settings` turns the one into the other;
settings.py calls it when HOMEFIRE_LDAP_URL is set, and tests call it for the directory
they start. It imports nothing of Django, so settings.py may import it.
"""

import ssl

BACKEND = "webui.accounts.ldap_backend.DirectoryBackend"
HOOKS = "webui.accounts.ldap_backend"


def library_settings(ldap: dict) -> dict:
    """The LDAP_AUTH_* settings for the directory that HOMEFIRE_LDAP describes."""
    tls_args = {"validate": ssl.CERT_REQUIRED}
    if ldap["CA_FILE"]:
        tls_args["ca_certs_file"] = ldap["CA_FILE"]
    secure = ldap["START_TLS"] or ldap["URL"].lower().startswith("ldaps://")
    return {
        "LDAP_AUTH_URL": [ldap["URL"]],
        "LDAP_AUTH_USE_TLS": ldap["START_TLS"],
        # ldaps:// is TLS from the first byte; the same checks of the server's certificate.
        "LDAP_AUTH_CONNECT_USE_SSL": ldap["URL"].lower().startswith("ldaps://"),
        "LDAP_AUTH_CONNECT_ARGS": (
            {"tls": _tls(tls_args)} if secure and not ldap["START_TLS"] else {}
        ),
        "LDAP_AUTH_TLS_ARGS": tls_args,
        "LDAP_AUTH_SEARCH_BASE": ldap["USER_SEARCH_BASE"],
        "LDAP_AUTH_OBJECT_CLASS": ldap["USER_OBJECT_CLASS"],
        "LDAP_AUTH_USER_FIELDS": ldap["ATTRIBUTES"],
        "LDAP_AUTH_USER_LOOKUP_FIELDS": ("username",),
        "LDAP_AUTH_CONNECTION_USERNAME": ldap["BIND_DN"] or None,
        "LDAP_AUTH_CONNECTION_PASSWORD": ldap["BIND_PASSWORD"] or None,
        "LDAP_AUTH_CONNECT_TIMEOUT": ldap["TIMEOUT"],
        # One pass over the server, then give up: the library's default (True) retries a
        # directory that is down for ever, holding the log-in request.
        "LDAP_AUTH_POOL_ACTIVE": 1,
        # Whole seconds: ldap3 packs it into a socket option.
        "LDAP_AUTH_RECEIVE_TIMEOUT": max(1, round(ldap["TIMEOUT"])),
        "LDAP_AUTH_FORMAT_USERNAME": f"{HOOKS}.bind_name",
        "LDAP_AUTH_CLEAN_USER_DATA": f"{HOOKS}.clean_user_data",
        "LDAP_AUTH_SYNC_USER_RELATIONS": f"{HOOKS}.sync_user_relations",
    }


def _tls(args: dict):
    import ldap3

    return ldap3.Tls(**args)
