"""A real OpenLDAP server (Debian's slapd) for the tests: a temporary directory with people
and groups, on a free port, with StartTLS on a certificate made for it.

`Directory.start()` writes a slapd.conf (mdb database), loads the seed with slapadd,
starts slapd in the foreground and waits until it answers; `stop()` ends it and removes
its files. `settings_env()` is the HOMEFIRE_LDAP_* environment that points Homefire at it.
"""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.environment import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
# username: (given name, surname, password, directory groups)
PEOPLE_SEED = {
    "ada": ("Ada", "Lovelace", "ada-pw-1815", ["homefire", "engineers"]),
    "grace": ("Grace", "Hopper", "grace-pw-1906", ["homefire"]),
    "mallory": ("Mallory", "Outsider", "mallory-pw-1999", []),
}

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {root}/slapd.pid
TLSCertificateFile {root}/server.crt
TLSCertificateKeyFile {root}/server.key

database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin}"
rootpw {admin_password}
directory {root}/data
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
"""


def _seed() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}",
    ]
    groups: dict[str, list[str]] = {}
    for uid, (given, surname, password, member_of) in PEOPLE_SEED.items():
        entries.append(
            f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} "
            f"{surname}\ngivenName: {given}\nsn: {surname}\nmail: {uid}@example.org\n"
            f"userPassword: {password}"
        )
        for group in member_of:
            groups.setdefault(group, []).append(f"uid={uid},{PEOPLE}")
    for name, members in groups.items():
        lines = "\n".join(f"member: {dn}" for dn in members)
        entries.append(f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{lines}")
    return "\n\n".join(entries) + "\n"


class Directory:
    """One slapd process and its files."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="homefire-slapd-"))
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ca_file = str(self.root / "server.crt")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Directory":
        root = self.root
        (root / "data").mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            + ["-keyout", str(root / "server.key"), "-out", str(root / "server.crt")]
            + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True,
            capture_output=True,
        )
        config = root / "slapd.conf"
        config.write_text(
            CONFIG.format(root=root, suffix=SUFFIX, admin=ADMIN_DN, admin_password=ADMIN_PASSWORD)
        )
        (root / "seed.ldif").write_text(_seed())
        subprocess.run(
            [SLAPADD, "-f", str(config), "-l", str(root / "seed.ldif")],
            check=True,
            capture_output=True,
        )
        self.log = (root / "slapd.log").open("w")
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(config), "-h", f"{self.url}/", "-d", "stats"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"slapd did not start: {(root / 'slapd.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def settings_env(self, **changes: str) -> dict[str, str]:
        """The HOMEFIRE_LDAP_* environment for this directory (StartTLS on, a read-only bind
        account, groups mapped, the "homefire" group required)."""
        env = {
            "HOMEFIRE_LDAP_URL": self.url,
            "HOMEFIRE_LDAP_START_TLS": "true",
            "HOMEFIRE_LDAP_CA_FILE": self.ca_file,
            "HOMEFIRE_LDAP_BIND_DN": READER_DN,
            "HOMEFIRE_LDAP_BIND_PASSWORD": READER_PASSWORD,
            "HOMEFIRE_LDAP_USER_DN": f"uid={{username}},{PEOPLE}",
            "HOMEFIRE_LDAP_USER_SEARCH_BASE": PEOPLE,
            "HOMEFIRE_LDAP_GROUP_SEARCH_BASE": GROUPS,
            "HOMEFIRE_LDAP_GROUP_MAP": "engineers=Engineers,homefire=Directory members",
            "HOMEFIRE_LDAP_REQUIRE_GROUP": "homefire",
        }
        env.update(changes)
        return env

    def homefire_ldap(self, **changes) -> dict:
        """settings.HOMEFIRE_LDAP as settings_env() would make it, for in-process tests."""
        ldap = {
            "URL": self.url,
            "START_TLS": True,
            "CA_FILE": self.ca_file,
            "BIND_DN": READER_DN,
            "BIND_PASSWORD": READER_PASSWORD,
            "USER_DN": f"uid={{username}},{PEOPLE}",
            "USER_SEARCH_BASE": PEOPLE,
            "USER_OBJECT_CLASS": "inetOrgPerson",
            "ATTRIBUTES": {
                "username": "uid",
                "first_name": "givenName",
                "last_name": "sn",
                "email": "mail",
            },
            "GROUP_SEARCH_BASE": GROUPS,
            "GROUP_MAP": {"engineers": "Engineers", "homefire": "Directory members"},
            "REQUIRE_GROUP": "homefire",
            "TIMEOUT": 5.0,
        }
        ldap.update(changes)
        return ldap
