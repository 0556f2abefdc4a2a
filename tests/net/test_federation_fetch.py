"""Black-box tests of `svidgate bundle fetch` against nginx bundle endpoints.

nginx (Debian's nginx-light) runs as a child process on free 127.0.0.1
ports and serves bundle files over TLS. The openssl command line tool
makes every certificate. A Web PKI CA issues the server certificates of
the https_web cases, and a SPIFFE CA issues the X.509-SVID server
certificates of the https_spiffe cases. A second CA of each kind is not
trusted by the client.

Without nginx the script exits 77 (skipped), or fails when CI=true.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SKIP_EXIT = 77
SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                  else None)
START_TIMEOUT_SECONDS = 10
RUN_TIMEOUT_SECONDS = 60

FEDERATED_TRUST_DOMAIN = "fed.test"
ENDPOINT_ID = "spiffe://fed.test/bundle-endpoint"
BUNDLE_MAX = 1024 * 1024  # SG_BUNDLE_MAX in core/limits.h
SEQUENCE = 42

# Names of the nginx servers; each gets its own port.
SERVERS = (
    "web", "web2", "web_other_name", "spiffe", "spiffe2", "spiffe_rogue", "plain", "tls11",
)


def skip_or_fail(reason):
    """Exit 77 with "SKIP: reason", or 1 with "FAIL: reason" under CI=true."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true, so this is not skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP_EXIT)


def binary_path():
    path = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
    if not os.access(path, os.X_OK):
        skip_or_fail(f"svidgate binary {path} not found; build it or set SVIDGATE_BIN")
    return path


def free_port():
    """Return a port that was free a moment ago (nginx binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def b64url(number, size):
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


# ---- Certificates ------------------------------------------------------------


class Pki:
    """Keys and certificates made with the openssl command line tool."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, name):
        return os.path.join(self.directory, name)

    def openssl(self, *arguments):
        subprocess.run(["openssl", *arguments], check=True, capture_output=True,
                       timeout=RUN_TIMEOUT_SECONDS)

    def new_key(self, name):
        self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", self.path(f"{name}.key"))

    def ca(self, name, subject, extra_san=None):
        """Make a self-signed CA certificate name.pem with key name.key."""
        self.new_key(name)
        extensions = [
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign",
            "subjectKeyIdentifier=hash",
        ]
        if extra_san:
            extensions.append(f"subjectAltName={extra_san}")
        arguments = ["req", "-x509", "-new", "-key", self.path(f"{name}.key"), "-subj", subject,
                     "-days", "2", "-out", self.path(f"{name}.pem")]
        for extension in extensions:
            arguments += ["-addext", extension]
        self.openssl(*arguments)

    def leaf(self, name, ca, subject, san):
        """Make name.pem signed by `ca`, and name-chain.pem (leaf, then CA)."""
        self.new_key(name)
        self.openssl("req", "-new", "-key", self.path(f"{name}.key"), "-subj", subject,
                     "-out", self.path(f"{name}.csr"))
        with open(self.path(f"{name}.ext"), "w", encoding="utf-8") as ext:
            ext.write(textwrap.dedent(f"""\
                basicConstraints=critical,CA:FALSE
                keyUsage=critical,digitalSignature
                extendedKeyUsage=serverAuth
                subjectAltName={san}
                authorityKeyIdentifier=keyid
            """))
        self.openssl("x509", "-req", "-in", self.path(f"{name}.csr"),
                     "-CA", self.path(f"{ca}.pem"), "-CAkey", self.path(f"{ca}.key"),
                     "-CAcreateserial", "-days", "1", "-extfile", self.path(f"{name}.ext"),
                     "-out", self.path(f"{name}.pem"))
        with open(self.path(f"{name}-chain.pem"), "w", encoding="utf-8") as chain:
            for part in (name, ca):
                with open(self.path(f"{part}.pem"), encoding="utf-8") as cert:
                    chain.write(cert.read())


def make_pki(directory):
    pki = Pki(directory)
    pki.ca("web-ca", "/CN=federation test web CA")
    pki.ca("other-web-ca", "/CN=untrusted web CA")
    pki.leaf("web", "web-ca", "/CN=localhost", "IP:127.0.0.1,DNS:localhost")
    pki.leaf("web-other-name", "web-ca", "/CN=other.example", "DNS:other.example")

    pki.ca("spiffe-ca", "/O=fed.test", "URI:spiffe://fed.test")
    pki.ca("rogue-spiffe-ca", "/O=rogue", "URI:spiffe://fed.test")
    pki.leaf("svid", "spiffe-ca", "/O=fed.test", f"URI:{ENDPOINT_ID},IP:127.0.0.1")
    pki.leaf("rogue-svid", "rogue-spiffe-ca", "/O=rogue", f"URI:{ENDPOINT_ID},IP:127.0.0.1")
    return pki


def served_bundle(pki):
    """Return the bytes of the SPIFFE bundle the endpoints serve."""
    with open(pki.path("spiffe-ca.pem"), "rb") as pem:
        authority = x509.load_pem_x509_certificate(pem.read())
    authority_key = authority.public_key().public_numbers()
    der_base64 = base64.b64encode(authority.public_bytes(serialization.Encoding.DER)).decode()
    jwt_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    bundle = {
        "spiffe_sequence": SEQUENCE,
        "spiffe_refresh_hint": 300,
        "keys": [
            {"use": "x509-svid", "kty": "EC", "crv": "P-256",
             "x": b64url(authority_key.x, 32), "y": b64url(authority_key.y, 32),
             "x5c": [der_base64]},
            {"use": "jwt-svid", "kty": "EC", "crv": "P-256", "kid": "key-1",
             "x": b64url(jwt_key.x, 32), "y": b64url(jwt_key.y, 32)},
        ],
    }
    return json.dumps(bundle, indent=2).encode() + b"\n"


# ---- nginx -------------------------------------------------------------------


def nginx_config(directory, pki, ports):
    def https_server(name, cert, extra=""):
        return f"""
        server {{
            listen 127.0.0.1:{ports[name]} ssl;
            ssl_certificate {pki.path(cert + "-chain.pem")};
            ssl_certificate_key {pki.path(cert + ".key")};
            root {directory}/www;
            {extra}
            location = /chunked-big.json {{
                sub_filter_types *;
                sub_filter 'never-present' 'x';
            }}
            location = /redirect-ok {{ return 302 https://127.0.0.1:{ports[name + "_next"]}/bundle.json; }}
            location = /redirect-bad {{ return 302 https://127.0.0.1:{ports[name + "_bad"]}/bundle.json; }}
            location = /redirect-http {{ return 302 http://127.0.0.1:{ports["plain"]}/bundle.json; }}
            location = /redirect-userinfo {{ return 302 https://user@127.0.0.1:{ports[name]}/bundle.json; }}
            # The serve tests turn a working endpoint bad by creating a
            # flag file: a 1 byte/s response, or a redirect to http.
            location = /switchable.json {{
                if (-f {directory}/www/switch-slow) {{ set $limit_rate 1; }}
                if (-f {directory}/www/switch-redirect-http) {{
                    return 302 http://127.0.0.1:{ports["plain"]}/switchable.json;
                }}
            }}
            location = /redirect-loop {{ return 302 https://127.0.0.1:{ports[name]}/redirect-loop; }}
            location = /redirect-chain-3 {{ return 302 https://127.0.0.1:{ports[name]}/redirect-chain-2; }}
            location = /redirect-chain-2 {{ return 302 https://127.0.0.1:{ports[name]}/redirect-chain-1; }}
            location = /redirect-chain-1 {{ return 302 https://127.0.0.1:{ports[name]}/bundle.json; }}
        }}
        """

    servers = [
        https_server("web", "web"),
        https_server("web2", "web"),
        https_server("web_other_name", "web-other-name"),
        https_server("spiffe", "svid"),
        https_server("spiffe2", "svid"),
        https_server("spiffe_rogue", "rogue-svid"),
        https_server("tls11", "web",
                     "ssl_protocols TLSv1.1; ssl_ciphers DEFAULT@SECLEVEL=0;"),
        f"""
        server {{
            listen 127.0.0.1:{ports["plain"]};
            root {directory}/www;
        }}
        """,
    ]
    return textwrap.dedent(f"""\
        pid {directory}/nginx.pid;
        error_log {directory}/error.log info;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            default_type application/json;
            client_body_temp_path {directory}/client_body;
            proxy_temp_path {directory}/proxy;
            fastcgi_temp_path {directory}/fastcgi;
            uwsgi_temp_path {directory}/uwsgi;
            scgi_temp_path {directory}/scgi;
            {"".join(servers)}
        }}
    """)


class NginxProcess:
    """One nginx child process in the foreground, single-process mode.

    It runs `config_text` with `directory` as its prefix and waits until
    every port named in `listening` (keys of `ports`) accepts connections.
    """

    def __init__(self, directory, config_text, ports, listening):
        self.directory = directory
        self.ports = ports
        config_path = os.path.join(directory, "nginx.conf")
        with open(config_path, "w", encoding="utf-8") as config:
            config.write(config_text)
        self.process = subprocess.Popen(
            [NGINX, "-p", directory, "-c", config_path, "-e", os.path.join(directory, "error.log"),
             "-g", "daemon off; master_process off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening(listening)

    def error_log(self):
        try:
            with open(os.path.join(self.directory, "error.log"), encoding="utf-8") as log:
                return log.read()
        except OSError as error:
            return f"(no error log: {error})"

    def _wait_until_listening(self, listening):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        pending = set(listening)
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited with {self.process.returncode}:\n"
                                     f"{self.error_log()}")
            for name in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", self.ports[name]), timeout=1).close()
                    pending.discard(name)
                except OSError:
                    pass
            time.sleep(0.05)
        if pending:
            self.stop()
            raise AssertionError(f"nginx did not listen on {sorted(pending)} within "
                                 f"{START_TIMEOUT_SECONDS} s:\n{self.error_log()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=START_TIMEOUT_SECONDS)


class Nginx(NginxProcess):
    """The bundle endpoints of SERVERS.

    `ports` restarts nginx on the ports of an earlier, stopped instance.
    """

    def __init__(self, directory, pki, ports=None):
        ports = {name: free_port() for name in SERVERS} if ports is None else dict(ports)
        # Where each server's /redirect-ok and /redirect-bad lead.
        ports.update({
            "web_next": ports["web2"], "web_bad": ports["web_other_name"],
            "web2_next": ports["web2"], "web2_bad": ports["web2"],
            "web_other_name_next": ports["web2"], "web_other_name_bad": ports["web2"],
            "spiffe_next": ports["spiffe2"], "spiffe_bad": ports["spiffe_rogue"],
            "spiffe2_next": ports["spiffe2"], "spiffe2_bad": ports["spiffe2"],
            "spiffe_rogue_next": ports["spiffe2"], "spiffe_rogue_bad": ports["spiffe2"],
            "tls11_next": ports["web2"], "tls11_bad": ports["web2"],
        })
        super().__init__(directory, nginx_config(directory, pki, ports), ports, SERVERS)

    def url(self, server, path="/bundle.json"):
        return f"https://127.0.0.1:{self.ports[server]}{path}"


def server_offers_tls11(port):
    """Return True when a TLS 1.1 handshake with 127.0.0.1:port succeeds."""
    try:
        probe = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_1",
             "-cipher", "DEFAULT@SECLEVEL=0"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and b"TLSv1.1" in probe.stdout


# ---- Tests -------------------------------------------------------------------


class Run:
    """One finished `svidgate bundle fetch` process."""

    def __init__(self, argv, completed, seconds):
        self.argv = argv
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr.decode("utf-8", "replace")
        self.seconds = seconds

    def describe(self):
        return (f"argv: {self.argv}\nexit status: {self.returncode}\n"
                f"stdout: {self.stdout[:300]!r}\nstderr: {self.stderr}")


class FederationFetchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = binary_path()
        cls.directory = tempfile.mkdtemp(prefix="svidgate-federation-")
        os.mkdir(os.path.join(cls.directory, "www"))
        cls.pki = make_pki(cls.directory)
        cls.bundle = served_bundle(cls.pki)
        www = os.path.join(cls.directory, "www")
        files = {
            "bundle.json": cls.bundle,
            "big.json": b"{" + b" " * BUNDLE_MAX + b"}",
            "chunked-big.json": b"{" + b" " * BUNDLE_MAX + b"}",
            "not-a-bundle.json": b'{"keys": "not a list"}',
        }
        with open(cls.pki.path("spiffe-ca.pem"), "rb") as pem:
            files["bundle.pem"] = pem.read()
        for name, data in files.items():
            with open(os.path.join(www, name), "wb") as out:
                out.write(data)
        cls.nginx = Nginx(cls.directory, cls.pki)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.directory, ignore_errors=True)

    def fetch(self, url, *arguments):
        argv = [self.binary, "bundle", "fetch", url, *arguments]
        # Proxy variables from the caller's environment would send the
        # requests for 127.0.0.1 elsewhere.
        environment = {name: value for name, value in os.environ.items()
                       if "proxy" not in name.lower()}
        started = time.monotonic()
        completed = subprocess.run(argv, capture_output=True, env=environment,
                                   timeout=RUN_TIMEOUT_SECONDS)
        return Run(argv, completed, time.monotonic() - started)

    def fetch_web(self, url, *arguments, ca="web-ca"):
        return self.fetch(url, "--profile", "https_web", "--ca-file", self.pki.path(f"{ca}.pem"),
                          "--trust-domain", FEDERATED_TRUST_DOMAIN, *arguments)

    def fetch_spiffe(self, url, *arguments, spiffe_id=ENDPOINT_ID, ca="spiffe-ca"):
        return self.fetch(url, "--profile", "https_spiffe", "--spiffe-id", spiffe_id,
                          "--bundle", f"{FEDERATED_TRUST_DOMAIN}={self.pki.path(ca + '.pem')}",
                          *arguments)

    def assert_fetched(self, run):
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.stdout, self.bundle, run.describe())
        self.assertIn(f"spiffe_sequence {SEQUENCE}", run.stderr, run.describe())
        self.assertIn("1 jwt-svid keys, 1 x509-svid authorities", run.stderr, run.describe())
        self.assertEqual(len(run.stderr.splitlines()), 1, run.describe())

    def assert_failed(self, run, *fragments):
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual(run.stdout, b"", run.describe())
        for fragment in fragments:
            self.assertIn(fragment, run.stderr, run.describe())

    def assert_usage_error(self, run, *fragments):
        self.assertEqual(run.returncode, 2, run.describe())
        self.assertEqual(run.stdout, b"", run.describe())
        for fragment in fragments:
            self.assertIn(fragment, run.stderr, run.describe())

    # https_web

    def test_web_success(self):
        url = self.nginx.url("web")
        run = self.fetch_web(url)
        self.assert_fetched(run)
        self.assertIn(url, run.stderr)
        self.assertIn("profile https_web", run.stderr)

    def test_web_localhost_name(self):
        run = self.fetch_web(f"https://localhost:{self.nginx.ports['web']}/bundle.json")
        self.assert_fetched(run)

    def test_web_wrong_ca(self):
        run = self.fetch_web(self.nginx.url("web"), ca="other-web-ca")
        self.assert_failed(run, "not trusted")

    def test_web_system_store_rejects_test_ca(self):
        run = self.fetch(self.nginx.url("web"), "--trust-domain", FEDERATED_TRUST_DOMAIN)
        self.assert_failed(run, "not trusted")

    def test_web_host_name_mismatch(self):
        run = self.fetch_web(self.nginx.url("web_other_name"))
        self.assert_failed(run, "not trusted", "127.0.0.1")

    def test_web_svid_server_rejected(self):
        # The SVID's IP SAN matches, but no trusted web CA issued it.
        run = self.fetch_web(self.nginx.url("spiffe"))
        self.assert_failed(run, "not trusted")

    def test_web_needs_trust_domain(self):
        run = self.fetch(self.nginx.url("web"), "--ca-file", self.pki.path("web-ca.pem"))
        self.assert_usage_error(run, "--trust-domain TD is required")

    # https_spiffe

    def test_spiffe_success(self):
        run = self.fetch_spiffe(self.nginx.url("spiffe"))
        self.assert_fetched(run)
        self.assertIn("profile https_spiffe", run.stderr)
        self.assertIn(f"peer {ENDPOINT_ID}", run.stderr)
        self.assertIn("trust domain fed.test", run.stderr)

    def test_spiffe_no_host_name_check(self):
        # The SVID names no DNS host; https_spiffe must not check it.
        run = self.fetch_spiffe(f"https://localhost:{self.nginx.ports['spiffe']}/bundle.json")
        self.assert_fetched(run)

    def test_spiffe_wrong_expected_id(self):
        run = self.fetch_spiffe(self.nginx.url("spiffe"), spiffe_id="spiffe://fed.test/other")
        self.assert_failed(run, f'presented SPIFFE ID "{ENDPOINT_ID}"',
                           'expected "spiffe://fed.test/other"')

    def test_spiffe_id_prefix_is_not_equal(self):
        run = self.fetch_spiffe(self.nginx.url("spiffe"), spiffe_id=ENDPOINT_ID + "/sub")
        self.assert_failed(run, f'presented SPIFFE ID "{ENDPOINT_ID}"')

    def test_spiffe_untrusted_ca(self):
        run = self.fetch_spiffe(self.nginx.url("spiffe_rogue"))
        self.assert_failed(run, "not a valid X.509-SVID", "chain_invalid")

    def test_spiffe_web_certificate_rejected(self):
        run = self.fetch_spiffe(self.nginx.url("web"))
        self.assert_failed(run, "not a valid X.509-SVID", "leaf_not_svid")

    def test_spiffe_needs_id_and_bundle(self):
        run = self.fetch(self.nginx.url("spiffe"), "--profile", "https_spiffe")
        self.assert_usage_error(run, "--spiffe-id ID")

    def test_spiffe_bundle_for_other_domain(self):
        run = self.fetch(self.nginx.url("spiffe"), "--profile", "https_spiffe",
                         "--spiffe-id", ENDPOINT_ID,
                         "--bundle", f"other.test={self.pki.path('spiffe-ca.pem')}")
        self.assert_usage_error(run, 'no --bundle is given for trust domain "fed.test"')

    def test_profile_options_not_mixed(self):
        run = self.fetch(self.nginx.url("web"), "--trust-domain", FEDERATED_TRUST_DOMAIN,
                         "--spiffe-id", ENDPOINT_ID)
        self.assert_usage_error(run, "apply only to --profile https_spiffe")
        run = self.fetch_spiffe(self.nginx.url("spiffe"), "--ca-file",
                                self.pki.path("web-ca.pem"))
        self.assert_usage_error(run, "--ca-file applies only")

    # URL form

    def test_http_url_usage_error(self):
        run = self.fetch_web(f"http://127.0.0.1:{self.nginx.ports['plain']}/bundle.json")
        self.assert_usage_error(run, "does not use https")

    def test_userinfo_url_usage_error(self):
        for userinfo in ("user@", "user:secret@"):
            with self.subTest(userinfo=userinfo):
                run = self.fetch_web(
                    f"https://{userinfo}127.0.0.1:{self.nginx.ports['web']}/bundle.json")
                self.assert_usage_error(run, "has userinfo")

    # Responses

    def test_status_404(self):
        run = self.fetch_web(self.nginx.url("web", "/missing.json"))
        self.assert_failed(run, "HTTP status 404")

    def test_body_over_cap_with_length(self):
        run = self.fetch_web(self.nginx.url("web", "/big.json"))
        self.assert_failed(run, f"larger than {BUNDLE_MAX} bytes")

    def test_body_over_cap_chunked(self):
        # sub_filter makes nginx drop Content-Length; check that it did.
        context = ssl.create_default_context(cafile=self.pki.path("web-ca.pem"))
        connection = http.client.HTTPSConnection("127.0.0.1", self.nginx.ports["web"],
                                                 context=context, timeout=RUN_TIMEOUT_SECONDS)
        try:
            connection.request("GET", "/chunked-big.json")
            response = connection.getresponse()
            self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
            self.assertIsNone(response.getheader("Content-Length"))
        finally:
            connection.close()

        run = self.fetch_web(self.nginx.url("web", "/chunked-big.json"))
        self.assert_failed(run, f"larger than {BUNDLE_MAX} bytes")

    def test_body_not_a_bundle(self):
        run = self.fetch_web(self.nginx.url("web", "/not-a-bundle.json"))
        self.assert_failed(run, "not a SPIFFE bundle")

    def test_body_pem_rejected(self):
        run = self.fetch_web(self.nginx.url("web", "/bundle.pem"))
        self.assert_failed(run, "PEM, not a SPIFFE bundle")

    # Redirects

    def test_web_redirect_to_valid_server(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-ok"))
        self.assert_fetched(run)
        self.assertIn(f"final URL {self.nginx.url('web2')}", run.stderr)

    def test_web_redirect_to_bad_certificate(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-bad"))
        self.assert_failed(run, "not trusted", str(self.nginx.ports["web_other_name"]))

    def test_spiffe_redirect_to_valid_server(self):
        run = self.fetch_spiffe(self.nginx.url("spiffe", "/redirect-ok"))
        self.assert_fetched(run)
        self.assertIn(f"final URL {self.nginx.url('spiffe2')}", run.stderr)

    def test_spiffe_redirect_to_untrusted_server(self):
        # The second server presents the same SPIFFE ID from a CA outside
        # --bundle: only a per-connection check catches it.
        run = self.fetch_spiffe(self.nginx.url("spiffe", "/redirect-bad"))
        self.assert_failed(run, "chain_invalid", str(self.nginx.ports["spiffe_rogue"]))

    def test_redirect_to_http(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-http"))
        self.assert_failed(run, "invalid endpoint URL", "does not use https")

    def test_redirect_to_userinfo(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-userinfo"))
        self.assert_failed(run, "invalid endpoint URL", "has userinfo")

    def test_three_redirects_followed(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-chain-3"))
        self.assert_fetched(run)
        self.assertIn("redirects followed 3", run.stderr)

    def test_redirect_loop_stops(self):
        run = self.fetch_web(self.nginx.url("web", "/redirect-loop"))
        self.assert_failed(run, "more than 3 redirects")

    # TLS version and timeouts

    def test_tls11_server_rejected(self):
        if not server_offers_tls11(self.nginx.ports["tls11"]):
            self.skipTest("OpenSSL on this machine does not offer TLS 1.1 even at "
                          "security level 0, so no TLS 1.1-only server can be started")
        run = self.fetch_web(self.nginx.url("tls11"))
        self.assert_failed(run, "protocol version")

    def test_server_never_answers(self):
        # A listening socket that is never accepted: the TCP handshake
        # completes in the kernel, the TLS handshake never does.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            run = self.fetch_web(f"https://127.0.0.1:{port}/bundle.json", "--timeout", "2")
        self.assert_failed(run, "timed out")
        self.assertLess(run.seconds, 10, run.describe())

    def test_timeout_bounds(self):
        for value in ("0", "301", "x"):
            with self.subTest(value=value):
                run = self.fetch_web(self.nginx.url("web"), "--timeout", value)
                self.assert_usage_error(run, "--timeout")


def main():
    if NGINX is None:
        skip_or_fail("nginx is not installed (Debian package nginx-light; "
                     "scripts/install-deps.sh --test installs it)")
    if shutil.which("openssl") is None:
        skip_or_fail("the openssl command line tool is not installed")
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
