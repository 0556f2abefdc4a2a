#!/usr/bin/python3
"""Bundle reloads of a running `svidgate serve`, seen from its clients.

Each test starts its own `svidgate serve --listen 127.0.0.1:0 --workers 2`
on a bundle file in a fresh temporary folder. It then changes that file
the way a deployment does (a new file renamed over the old one, or a
SIGHUP) and checks what requests see. A removed key stops verifying and a
restored one verifies again within a second. A file that fails to parse
keeps the previous bundle, a cached verdict does not outlive its token,
and a reload never interrupts traffic on open connections.

Keys and tokens are minted with python3-jwcrypto. Every socket has a
timeout and every wait and loop a fixed bound. Exit status 77 (skipped)
when the binary is missing or the kernel refuses io_uring, as in
test_server_blackbox.py.
"""
import ctypes
import fcntl
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from jwcrypto import jwk, jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_server_blackbox import (  # noqa: E402
    AUDIENCE,
    SOURCE_DIR,
    SPIFFE_ID,
    START_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    TRUST_DOMAIN,
    Connection,
    Server,
    request_bytes,
    skip_or_fail,
    verify_body,
)

# A reload follows a change after the watcher's 100 ms quiet period and
# one parse per worker, so these tests allow one second.
RELOAD_DEADLINE_SECONDS = 1.0
POLL_INTERVAL_SECONDS = 0.05
# How long a test waits for a change that must not be published.
UNPUBLISHED_WAIT_SECONDS = 0.5
# Tests that change a file wait this long after the "listening" line, so they
# do not depend on how early the watcher starts (test_change_right_after_start does).
WATCH_START_SECONDS = 0.3
LOG_DEADLINE_SECONDS = 2.0
# The background client of the traffic test stops after this, whatever happens.
CLIENT_MAX_SECONDS = 20.0
CLIENT_MAX_REQUESTS = 200000
# GET /v1/bundles must respond within this while bundles reload.
STATUS_RESPONSE_TIMEOUT_SECONDS = 3.0


# ---- Keys, tokens and bundle files -----------------------------------------


def make_key(kid):
    return jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)


def sign_token(key, exp=None, lifetime=600):
    now = int(time.time())
    claims = {"sub": SPIFFE_ID, "aud": [AUDIENCE], "iat": now,
              "exp": exp if exp is not None else now + lifetime}
    token = jwt.JWT(header={"alg": "ES256", "kid": key.get("kid"), "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def replace_file(path, text):
    """Write `text` to a temporary file next to `path` and rename it over `path`."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def bundle_text(keys, sequence=1):
    entries = []
    for key in keys:
        entry = json.loads(key.export_public())
        entry["use"] = "jwt-svid"
        entries.append(entry)
    return json.dumps({"keys": entries, "spiffe_sequence": sequence})


def fill_pipe(write_end):
    """Shrink the pipe to one page and fill it. Return the number of bytes written."""
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    size = fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ)
    os.set_blocking(write_end, False)
    written = os.write(write_end, b"\n" * size)
    os.set_blocking(write_end, True)
    if written != size:
        raise AssertionError(f"filled {written} of the {size} bytes of the pipe")
    return written


class FileReadWatch:
    """Waits until some process has opened a file for reading and closed it (inotify)."""

    IN_CLOSE_NOWRITE = 0x10

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_CLOSE_NOWRITE) < 0:
            error = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(error, f"inotify_add_watch on {path} failed")

    def wait(self, timeout):
        """Return True once the file was read and closed, False after `timeout` seconds."""
        readable, _, _ = select.select([self.fd], [], [], timeout)
        return bool(readable)

    def close(self):
        os.close(self.fd)


def wait_for(condition, timeout, interval=POLL_INTERVAL_SECONDS):
    """Call `condition` every `interval` until it returns a true value or `timeout` passes.

    Returns (value, seconds waited); the value is the last one returned.
    """
    started = time.monotonic()
    while True:
        value = condition()
        elapsed = time.monotonic() - started
        if value or elapsed >= timeout:
            return value, elapsed
        time.sleep(interval)


# ---- The server and requests -----------------------------------------------


class BundleServer(Server):
    """`svidgate serve` on one bundle file of example.org, with extra flags.

    test_server_blackbox.Server fixes its command line, so this class
    builds its own and reuses the log reader, port discovery and stop.

    With `before_listening`, the server starts with its standard error
    pipe already full, so it blocks in its first log line (today the
    "listening" line). The function is called with the server in that
    state; then the pipe is drained and the server goes on.
    """

    def __init__(self, bundle_path, *flags, workers=2, before_listening=None):
        # pylint: disable=super-init-not-called
        binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
        if not os.access(binary, os.X_OK):
            skip_or_fail(f"svidgate binary {binary} not found; build it or set SVIDGATE_BIN")
        self.argv = [
            binary, "serve", "--listen", "127.0.0.1:0", "--workers", str(workers),
            "--bundle", f"{TRUST_DOMAIN}={bundle_path}", "--audience", AUDIENCE, *flags,
        ]
        if before_listening is None:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            read_end, write_end = os.pipe()
            filler = fill_pipe(write_end)
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=write_end)
            os.close(write_end)
            self.process.stderr = os.fdopen(read_end, "rb")
            try:
                before_listening(self)
            finally:
                self.process.stderr.read(filler)
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = self._wait_for_port()

    def has_log_line(self, *words):
        return any(all(word in line for word in words) for line in list(self.log))


def verify(port, token):
    """POST the token on a new connection and return the result object."""
    connection = Connection(port)
    try:
        connection.send(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token)))
        response = connection.read_response()
    finally:
        connection.close()
    if response.status != 200:
        raise AssertionError(f"verify returned {response.status}: {response.body!r}")
    return response.json()


def bundles_status(port):
    """GET /v1/bundles on a new connection and return the document."""
    connection = Connection(port)
    try:
        connection.send(request_bytes("GET", "/v1/bundles"))
        response = connection.read_response()
    finally:
        connection.close()
    if response.status != 200:
        raise AssertionError(f"GET /v1/bundles returned {response.status}: {response.body!r}")
    return response.json()


def error_of(result):
    """The result's error code, or None for a valid token."""
    return None if result["valid"] else result["error"]


class Traffic:
    """A thread that verifies one token over and over on keep-alive connections.

    Every response must be a 200 with valid: true. Anything else, a
    connection error included, is appended to `problems`.
    """

    CONNECTIONS = 4

    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.stop_event = threading.Event()
        self.responses = 0
        self.problems = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=CLIENT_MAX_SECONDS)

    def _run(self):
        request = request_bytes("POST", "/v1/jwt-svid/verify", verify_body(self.token))
        connections = []
        deadline = time.monotonic() + CLIENT_MAX_SECONDS
        try:
            connections = [Connection(self.port) for _ in range(self.CONNECTIONS)]
            while (not self.stop_event.is_set() and time.monotonic() < deadline
                   and self.responses < CLIENT_MAX_REQUESTS):
                connection = connections[self.responses % len(connections)]
                connection.send(request)
                response = connection.read_response()
                self.responses += 1
                if response.status != 200 or response.json().get("valid") is not True:
                    self.problems.append(f"response {self.responses}: {response.status} "
                                         f"{response.body!r}")
                    if len(self.problems) >= 10:
                        return
        except (OSError, ValueError) as error:
            self.problems.append(f"after {self.responses} responses: {error!r}")
        finally:
            for connection in connections:
                connection.close()


# ---- Tests -----------------------------------------------------------------


class LiveServerCase(unittest.TestCase):
    """Starts a server of its own for each test, on a bundle of keys A and B."""

    server_flags = ()

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory(prefix="svidgate-reload-")
        self.key_a = make_key("A")
        self.key_b = make_key("B")
        self.bundle_path = os.path.join(self.folder.name, "bundle.json")
        replace_file(self.bundle_path, bundle_text([self.key_a, self.key_b]))
        self.server = BundleServer(self.bundle_path, *self.server_flags)
        time.sleep(WATCH_START_SECONDS)

    def tearDown(self):
        self.server.stop()
        self.folder.cleanup()

    def generation(self):
        return bundles_status(self.server.port)["generation"]

    def wait_for_error(self, token, expected):
        """Poll until the token's verdict is `expected` (None: valid)."""
        result, _ = wait_for(lambda: error_of(verify(self.server.port, token)) == expected,
                                   RELOAD_DEADLINE_SECONDS)
        self.assertTrue(result, f"the verdict did not become {expected or 'valid'} within "
                                f"{RELOAD_DEADLINE_SECONDS} s\n{self.server.log_text()}")

    def assert_every_connection(self, token, expected, connections=6):
        """Verify on several new connections, which reach either worker. Each must return `expected`."""
        for _ in range(connections):
            self.assertEqual(error_of(verify(self.server.port, token)), expected)


class ReloadTest(LiveServerCase):
    """Changes to the bundle file of a running server, with the default flags."""

    # -- keys removed and restored under traffic --

    def test_key_removed_and_restored_under_traffic(self):
        token_a = sign_token(self.key_a)
        token_b = sign_token(self.key_b)
        for _ in range(2):  # the second verdict comes from the cache
            self.assertIsNone(error_of(verify(self.server.port, token_a)))

        traffic = Traffic(self.server.port, token_b)
        traffic.start()
        try:
            time.sleep(0.2)
            replace_file(self.bundle_path, bundle_text([self.key_b], sequence=2))
            self.wait_for_error(token_a, "unknown_key")
            self.assert_every_connection(token_a, "unknown_key")

            replace_file(self.bundle_path, bundle_text([self.key_a, self.key_b], sequence=3))
            self.wait_for_error(token_a, None)
            self.assert_every_connection(token_a, None)
            time.sleep(0.2)
        finally:
            traffic.stop()

        self.assertFalse(traffic.thread.is_alive(), "the traffic thread did not stop")
        self.assertEqual(traffic.problems, [])
        self.assertGreater(traffic.responses, 20)
        self.assertEqual(self.generation(), 3)

    def test_busy_folder_does_not_postpone_removal(self):
        # Another file in the bundle's folder changes every 50 ms, so the
        # folder never goes quiet; the removal must still be published
        # within the deadline.
        token_a = sign_token(self.key_a)
        self.assertIsNone(error_of(verify(self.server.port, token_a)))
        noisy = os.path.join(self.folder.name, "unrelated.log")
        stop = threading.Event()

        def write_noise():
            with open(noisy, "a") as log:
                for _ in range(200):
                    if stop.wait(0.05):
                        return
                    log.write("x\n")
                    log.flush()

        writer = threading.Thread(target=write_noise, daemon=True)
        writer.start()
        try:
            replace_file(self.bundle_path, bundle_text([self.key_b], sequence=2))
            self.wait_for_error(token_a, "unknown_key")
        finally:
            stop.set()
            writer.join(timeout=5)

    def test_symlink_target_change_reloads(self):
        # --bundle names a symlink in one folder whose target lives in
        # another; a change of the target must be seen without a SIGHUP.
        target_folder = os.path.join(self.folder.name, "target")
        os.mkdir(target_folder)
        target = os.path.join(target_folder, "bundle.json")
        replace_file(target, bundle_text([self.key_a, self.key_b]))
        link = os.path.join(self.folder.name, "link.json")
        os.symlink(target, link)
        self.server.stop()
        self.server = BundleServer(link)
        time.sleep(WATCH_START_SECONDS)
        token_a = sign_token(self.key_a)
        self.assertIsNone(error_of(verify(self.server.port, token_a)))

        replace_file(target, bundle_text([self.key_b], sequence=2))
        self.wait_for_error(token_a, "unknown_key")

    def test_kubelet_swap_in_sub_folder_reloads(self):
        # A ConfigMap key placed in a sub-folder (`items` with a path) is
        # mount/sub -> ..data/sub, and ..data -> a timestamped folder that
        # every update replaces and deletes. Each update must be seen, not
        # only the first, although the folder watched at start is gone.
        mount = os.path.join(self.folder.name, "mount")
        os.mkdir(mount)
        generations = []

        def swap(text):
            name = f"..2026_12_05_00_00_{len(generations):02d}"
            os.makedirs(os.path.join(mount, name, "sub"))
            with open(os.path.join(mount, name, "sub", "bundle.json"), "w",
                      encoding="utf-8") as file:
                file.write(text)
            os.symlink(name, os.path.join(mount, "..data_tmp"))
            os.rename(os.path.join(mount, "..data_tmp"), os.path.join(mount, "..data"))
            if generations:
                shutil.rmtree(os.path.join(mount, generations[-1]))
            generations.append(name)

        swap(bundle_text([self.key_a, self.key_b]))
        os.symlink(os.path.join("..data", "sub"), os.path.join(mount, "sub"))
        self.server.stop()
        self.server = BundleServer(os.path.join(mount, "sub", "bundle.json"))
        time.sleep(WATCH_START_SECONDS)
        token_a, token_b = sign_token(self.key_a), sign_token(self.key_b)
        self.assertIsNone(error_of(verify(self.server.port, token_a)))

        swap(bundle_text([self.key_b], sequence=2))
        self.wait_for_error(token_a, "unknown_key")
        swap(bundle_text([self.key_a], sequence=3))
        self.wait_for_error(token_b, "unknown_key")
        swap(bundle_text([self.key_b], sequence=4))
        self.wait_for_error(token_a, "unknown_key")

    def test_oversized_token_not_cached(self):
        before = bundles_status(self.server.port)["cache"]["inserts"]
        for i in range(3):
            result = verify(self.server.port, "A" * 20000 + str(i))
            self.assertEqual(error_of(result), "malformed")
        self.assertEqual(bundles_status(self.server.port)["cache"]["inserts"], before)

    # -- a file that fails to parse --

    def test_invalid_json_keeps_previous_bundle(self):
        token_a = sign_token(self.key_a)
        token_b = sign_token(self.key_b)

        replace_file(self.bundle_path, '{"keys": [ {"kty": ')
        logged, _ = wait_for(
            lambda: self.server.has_log_line("bundle reload failed", self.bundle_path),
            LOG_DEADLINE_SECONDS)
        self.assertTrue(logged, f"no 'bundle reload failed' line naming {self.bundle_path}:\n"
                                f"{self.server.log_text()}")

        self.assert_every_connection(token_a, None)
        self.assert_every_connection(token_b, None)
        status = bundles_status(self.server.port)
        self.assertEqual(status["generation"], 1)
        self.assertEqual(status["reload_errors"], 1)
        domain = status["trust_domains"][0]
        self.assertIsInstance(domain["last_error"], str)
        self.assertIn("JSON", domain["last_error"])
        self.assertEqual(domain["jwt_authorities"], 2)
        self.assertGreaterEqual(domain["last_attempt"], domain["last_success"])

        # A good file clears the error and publishes.
        replace_file(self.bundle_path, bundle_text([self.key_b], sequence=2))
        self.wait_for_error(token_a, "unknown_key")
        status = bundles_status(self.server.port)
        self.assertEqual(status["generation"], 2)
        self.assertIsNone(status["trust_domains"][0]["last_error"])

    def test_missing_file_keeps_previous_bundle(self):
        token_a = sign_token(self.key_a)

        os.unlink(self.bundle_path)
        logged, _ = wait_for(
            lambda: self.server.has_log_line("bundle reload failed", self.bundle_path),
            LOG_DEADLINE_SECONDS)
        self.assertTrue(logged, self.server.log_text())
        self.assert_every_connection(token_a, None)
        self.assertEqual(self.generation(), 1)

    def test_change_right_after_start(self):
        # `serve` reads the bundle files, starts its workers, logs
        # "listening" and only then starts watching the bundle folder. A
        # change made in between must still be published. The server is
        # held at its first log line while the test changes the file.
        self.server.stop()
        replace_file(self.bundle_path, bundle_text([self.key_a, self.key_b]))
        first_read = FileReadWatch(self.bundle_path)

        def change_after_first_read(server):
            read = first_read.wait(START_TIMEOUT_SECONDS)
            first_read.close()
            if not read:
                server.process.kill()
                server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
                self.fail(f"svidgate did not read {self.bundle_path} within "
                          f"{START_TIMEOUT_SECONDS} s")
            replace_file(self.bundle_path, bundle_text([self.key_b], sequence=2))

        self.server = BundleServer(self.bundle_path, before_listening=change_after_first_read)
        self.wait_for_error(sign_token(self.key_a), "unknown_key")

    # -- SIGHUP --

    def test_sighup_publishes_change(self):
        # The server reads the bundle through two symlinks:
        #   watched/bundle.json -> links/current -> v1/bundle.json.
        # The watcher watches watched/ and the folder the path resolves to
        # at start, v1/. The test then writes v2/bundle.json and points
        # links/current at it: neither folder is watched, so nothing but
        # the SIGHUP can make the server read the new bundle.
        watched = os.path.join(self.folder.name, "watched")
        links = os.path.join(self.folder.name, "links")
        first = os.path.join(self.folder.name, "v1")
        second = os.path.join(self.folder.name, "v2")
        for folder in (watched, links, first, second):
            os.mkdir(folder)
        replace_file(os.path.join(first, "bundle.json"), bundle_text([self.key_a, self.key_b]))
        os.symlink(os.path.join(first, "bundle.json"), os.path.join(links, "current"))
        link = os.path.join(watched, "bundle.json")
        os.symlink(os.path.join(links, "current"), link)
        self.server.stop()
        self.server = BundleServer(link)
        time.sleep(WATCH_START_SECONDS)
        token_a = sign_token(self.key_a)
        self.assertIsNone(error_of(verify(self.server.port, token_a)))

        replace_file(os.path.join(second, "bundle.json"),
                     bundle_text([self.key_b], sequence=2))
        os.symlink(os.path.join(second, "bundle.json"), os.path.join(links, "next"))
        os.replace(os.path.join(links, "next"), os.path.join(links, "current"))
        time.sleep(UNPUBLISHED_WAIT_SECONDS)
        self.assertEqual(self.generation(), 1,
                         "the server reloaded without a SIGHUP, so this test cannot "
                         "isolate SIGHUP")
        self.assertIsNone(error_of(verify(self.server.port, token_a)))

        self.server.process.send_signal(signal.SIGHUP)
        # Polled with verifications, not GET /v1/bundles, so that a status
        # request stuck behind the reload fails
        # test_bundles_status_during_reloads and not this test.
        self.wait_for_error(token_a, "unknown_key")
        self.assert_every_connection(token_a, "unknown_key")
        self.assertEqual(self.generation(), 2)
        self.assertTrue(self.server.has_log_line("bundles published", "reason=sighup"),
                        self.server.log_text())

    def test_sighup_without_change_publishes_nothing(self):
        self.server.process.send_signal(signal.SIGHUP)
        time.sleep(UNPUBLISHED_WAIT_SECONDS)
        status = bundles_status(self.server.port)
        self.assertEqual(status["generation"], 1)
        self.assertEqual(status["reloads"], 0)
        self.assertIsNone(self.server.process.poll(), "SIGHUP stopped the server")

    # -- GET /v1/bundles --

    def test_bundles_document_shape(self):
        started = int(time.time())
        connection = Connection(self.server.port)
        try:
            connection.send(request_bytes("GET", "/v1/bundles"))
            response = connection.read_response()
        finally:
            connection.close()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-type"), "application/json")
        status = response.json()

        self.assertEqual(status["generation"], 1)
        self.assertEqual(status["reloads"], 0)
        self.assertEqual(status["reload_errors"], 0)
        self.assertEqual(len(status["trust_domains"]), 1)
        domain = status["trust_domains"][0]
        self.assertEqual(domain["trust_domain"], TRUST_DOMAIN)
        self.assertEqual(domain["source"], "file")
        self.assertEqual(domain["path"], self.bundle_path)
        self.assertEqual(domain["format"], "spiffe")
        self.assertEqual(domain["jwt_authorities"], 2)
        self.assertEqual(domain["x509_authorities"], 0)
        self.assertEqual(domain["sequence"], 1)
        self.assertIsNone(domain["refresh_hint"])
        self.assertIsNone(domain["last_error"])
        self.assertIsInstance(domain["last_success"], int)
        self.assertLessEqual(abs(domain["last_success"] - started), 60)
        self.assertEqual(domain["last_attempt"], domain["last_success"])
        self.assertGreaterEqual(domain["age_seconds"], 0)
        self.assertEqual(domain["skipped_entries"],
                         {"unknown_use": 0, "bad_key": 0, "missing_kid": 0, "duplicate_kid": 0,
                          "bad_x5c": 0})

        cache = status["cache"]
        self.assertIs(cache["enabled"], True)
        self.assertGreater(cache["capacity"], 0)
        for counter in ("hits", "misses", "inserts", "evictions"):
            self.assertIsInstance(cache[counter], int, counter)
            self.assertGreaterEqual(cache[counter], 0, counter)

    def test_bundles_head_has_no_body(self):
        connection = Connection(self.server.port)
        try:
            connection.send(request_bytes("HEAD", "/v1/bundles") + request_bytes("GET", "/healthz"))
            head = connection.read_response_without_body()
            self.assertEqual(head.status, 200)
            self.assertGreater(int(head.header("content-length")), 0)
            self.assertEqual(connection.read_response().status, 200)
        finally:
            connection.close()

    # -- GET /v1/bundles while bundles reload --

    def test_bundles_status_during_reloads(self):
        # A worker that handles GET /v1/bundles reads the publisher's
        # status. If it waits for a lock that a reload holds across the
        # RCU grace period, neither can finish: the worker never passes a
        # quiescent state and the reload never releases the lock.
        keys = [make_key(f"k{i}") for i in range(16)]
        stop = threading.Event()
        writes = []

        def rewrite():
            deadline = time.monotonic() + 4.0
            while not stop.is_set() and time.monotonic() < deadline:
                replace_file(self.bundle_path, bundle_text(keys[:8 + len(writes) % 8]))
                writes.append(time.monotonic())
                time.sleep(0.15)

        writer = threading.Thread(target=rewrite, daemon=True)
        connections = [Connection(self.server.port) for _ in range(4)]
        responses = 0
        failure = None
        writer.start()
        try:
            for connection in connections:
                connection.sock.settimeout(STATUS_RESPONSE_TIMEOUT_SECONDS)
            deadline = time.monotonic() + 4.0
            while time.monotonic() < deadline:
                for connection in connections:
                    connection.send(request_bytes("GET", "/v1/bundles"))
                for connection in connections:
                    self.assertEqual(connection.read_response().status, 200)
                    responses += 1
        except OSError as error:
            failure = error
        finally:
            stop.set()
            writer.join(timeout=5)
            for connection in connections:
                connection.close()

        self.assertIsNone(
            failure, f"GET /v1/bundles got no response within {STATUS_RESPONSE_TIMEOUT_SECONDS} s "
                     f"after {responses} responses and {len(writes)} bundle writes ({failure!r}); "
                     f"log:\n{self.server.log_text()}")
        self.assertGreater(self.generation(), 1)


class CachedVerdictExpiryTest(LiveServerCase):
    """A cached valid verdict ends at exp + leeway, here with --leeway 0."""

    server_flags = ("--leeway", "0")

    def test_cached_verdict_expires(self):
        exp = int(time.time()) + 2
        token = sign_token(self.key_a, exp=exp)
        connection = Connection(self.server.port)
        try:
            before = bundles_status(self.server.port)["cache"]
            connection.send(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token)))
            self.assertIs(connection.read_response().json()["valid"], True)
            first = bundles_status(self.server.port)["cache"]
            connection.send(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token)))
            self.assertIs(connection.read_response().json()["valid"], True)
            second = bundles_status(self.server.port)["cache"]

            self.assertEqual(first["hits"], before["hits"])
            self.assertEqual(first["inserts"], before["inserts"] + 1)
            self.assertEqual(second["hits"], first["hits"] + 1)

            # The server reads whole seconds: at exp it is expired with no leeway.
            time.sleep(max(0.0, exp - time.time()) + 0.2)
            connection.send(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token)))
            result = connection.read_response().json()
        finally:
            connection.close()
        self.assertIs(result["valid"], False, result)
        self.assertEqual(result["error"], "expired")


if __name__ == "__main__":
    unittest.main(verbosity=2)
