#!/usr/bin/python3
"""Black-box tests of GET /metrics and of the server's log lines about credentials.

A strict parser of the Prometheus text format 0.0.4 reads two scrapes of
`svidgate serve --workers 2`. Every line must be a HELP, TYPE or sample
line of valid syntax, and histograms must be cumulative with the +Inf
bucket equal to _count. No counter may decrease between the scrapes, and
the request and verification counters must grow by exactly what the
test sent in between. A second server gets invalid credentials many
times over, and its standard error must hold fingerprints and never a
byte sequence of the credentials.

Exit status 77 (skipped) when the binary is missing or the kernel refuses
io_uring; with CI=true those fail instead.
"""

import hashlib
import math
import os
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server_blackbox as blackbox  # noqa: E402  (needs the path above)

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_LINE = re.compile(
    rf"^({METRIC_NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? "
    r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
HELP_LINE = re.compile(rf"^# HELP ({METRIC_NAME}) (.+)$")
TYPE_LINE = re.compile(rf"^# TYPE ({METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
REPEATS_MAX_PATTERN = r"#define SG_LOG_REPEATS_MAX (\d+)"


class Scrape:
    """One parsed exposition: family types and samples keyed by (name, labels)."""

    def __init__(self, test, text):
        self.types = {}
        self.helps = set()
        self.samples = {}
        self.family_of = {}
        self.current = None  # the family of the last TYPE line
        self._parse(test, text)

    def _family(self, test, name):
        if name in self.types:
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[: -len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        test.fail(f"sample {name} has no TYPE line before it")
        return None

    def _parse(self, test, text):
        test.assertTrue(text.endswith("\n"), "the exposition must end with a newline")
        for number, line in enumerate(text.split("\n")[:-1], start=1):
            with test.subTest(line=number, text=line):
                if line.startswith("# HELP "):
                    match = HELP_LINE.match(line)
                    test.assertIsNotNone(match, "invalid HELP line")
                    test.assertNotIn(match.group(1), self.helps, "HELP given twice")
                    self.helps.add(match.group(1))
                elif line.startswith("# TYPE "):
                    match = TYPE_LINE.match(line)
                    test.assertIsNotNone(match, "invalid TYPE line")
                    test.assertNotIn(match.group(1), self.types, "TYPE given twice")
                    test.assertIn(match.group(1), self.helps, "TYPE without HELP before it")
                    self.types[match.group(1)] = match.group(2)
                    self.current = match.group(1)
                else:
                    self._parse_sample(test, line)

    def _parse_sample(self, test, line):
        match = SAMPLE_LINE.match(line)
        test.assertIsNotNone(match, "invalid sample line")
        name, labels, value = match.group(1), match.group(2) or "", match.group(3)
        pairs = tuple(LABEL_PAIR.findall(labels))
        test.assertEqual(len({key for key, _ in pairs}), len(pairs), "a label name repeats")
        key = (name, pairs)
        test.assertNotIn(key, self.samples, "the same series twice")
        self.samples[key] = float(value)
        self.family_of[key] = self._family(test, name)
        # The exposition format wants every line of a family in one group,
        # right after its TYPE line.
        test.assertEqual(self.family_of[key], self.current, "a sample outside its family's group")

    def value(self, name, **labels):
        for (sample_name, pairs), value in self.samples.items():
            if sample_name == name and dict(pairs) == labels:
                return value
        return 0.0

    def series(self, name):
        return {pairs: value for (sample_name, pairs), value in self.samples.items()
                if sample_name == name}


class MetricsTest(unittest.TestCase):
    """Two scrapes of one server, with known requests between them."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.credentials = blackbox.Credentials(cls.folder.name)
        cls.server = blackbox.Server(cls.credentials, workers=2)

    @classmethod
    def tearDownClass(cls):
        status, _ = cls.server.stop()
        cls.folder.cleanup()
        # A sanitizer build exits non-zero on a leak or race it found.
        if status != 0:
            raise AssertionError(f"svidgate exited with {status}:\n{cls.server.log_text()}")

    def exchange(self, data):
        connection = blackbox.Connection(self.server.port)
        try:
            connection.send(data)
            return connection.read_response()
        finally:
            connection.close()

    def scrape(self):
        response = self.exchange(blackbox.request_bytes("GET", "/metrics"))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return Scrape(self, response.body.decode("utf-8"))

    def send_known_requests(self):
        """Send a fixed set of requests; return what each counter must grow by."""
        valid = blackbox.verify_body(self.credentials.token())
        bad = blackbox.verify_body(self.credentials.token_with_bad_signature())
        batch = ('{"tokens": ["%s", "not-a-jwt", 7]}' % self.credentials.token()).encode()
        for _ in range(3):
            self.exchange(blackbox.request_bytes("GET", "/healthz"))
        for body in (valid, valid, bad):
            self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify", body))
        self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", batch))
        self.exchange(blackbox.request_bytes("GET", "/no/such/path"))
        self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify", b"{"))
        self.exchange(b"GET /healthz HTTP/1.1\nHost: a\n\n")
        for token in (self.credentials.token(), self.credentials.token_with_bad_signature()):
            self.exchange(blackbox.request_bytes("GET", "/v1/auth",
                                                 headers=[f"Authorization: Bearer {token}"]))
        self.exchange(blackbox.request_bytes("GET", "/v1/auth"))  # no credential
        return {
            ("auth", "200"): 1,
            ("auth", "401"): 2,
            ("healthz", "200"): 3,
            ("jwt_verify", "200"): 3,
            ("jwt_verify", "400"): 1,
            ("jwt_verify_batch", "200"): 1,
            ("unmatched", "404"): 1,
            ("invalid_request", "400"): 1,
            ("metrics", "200"): 1,  # the first scrape, counted once it was sent
        }

    def test_two_scrapes(self):
        first = self.scrape()
        expected_requests = self.send_known_requests()
        second = self.scrape()

        for scrape in (first, second):
            self.check_names(scrape)
            self.check_histograms(scrape)
        self.check_counters_monotonic(first, second)

        for (route, status), delta in expected_requests.items():
            with self.subTest(route=route, status=status):
                name = "svidgate_http_requests_total"
                grown = (second.value(name, route=route, status=status) -
                         first.value(name, route=route, status=status))
                self.assertEqual(grown, delta)
        requests_grown = (sum(second.series("svidgate_http_requests_total").values()) -
                          sum(first.series("svidgate_http_requests_total").values()))
        self.assertEqual(requests_grown, sum(expected_requests.values()))

        verifications = "svidgate_verifications_total"
        for labels, delta in (
            ({"kind": "jwt", "result": "valid", "error": "none"}, 4),
            ({"kind": "jwt", "result": "invalid", "error": "bad_signature"}, 2),
            ({"kind": "jwt", "result": "invalid", "error": "malformed"}, 2),
        ):
            with self.subTest(**labels):
                self.assertEqual(second.value(verifications, **labels) -
                                 first.value(verifications, **labels), delta)

        duration = "svidgate_verification_duration_seconds_count"
        self.assertEqual(second.value(duration, kind="jwt") - first.value(duration, kind="jwt"), 8)
        self.check_trust_and_process(second)

    def check_names(self, scrape):
        for name, kind in scrape.types.items():
            with self.subTest(family=name):
                self.assertTrue(name.startswith("svidgate_"))
                self.assertEqual(name.endswith("_total"), kind == "counter")
                if kind == "histogram":
                    self.assertTrue(name.endswith("_seconds"))

    def check_histograms(self, scrape):
        for family, kind in scrape.types.items():
            if kind != "histogram":
                continue
            groups = {}
            for (name, pairs), value in scrape.samples.items():
                if scrape.family_of[(name, pairs)] != family:
                    continue
                labels = dict(pairs)
                le = labels.pop("le", None)
                groups.setdefault(tuple(sorted(labels.items())), {})[(name, le)] = value
            self.assertTrue(groups, f"{family} has no samples")
            for labels, values in groups.items():
                with self.subTest(family=family, labels=labels):
                    self.check_one_histogram(family, values)

    def check_one_histogram(self, family, values):
        buckets = sorted(((float(le), value) for (name, le), value in values.items()
                          if name == family + "_bucket"), key=lambda pair: pair[0])
        self.assertGreater(len(buckets), 1)
        self.assertEqual(buckets[-1][0], math.inf, "the last bucket must be +Inf")
        counts = [value for _, value in buckets]
        self.assertEqual(counts, sorted(counts), "buckets must be cumulative")
        self.assertEqual(values[(family + "_count", None)], buckets[-1][1])
        self.assertGreaterEqual(values[(family + "_sum", None)], 0)

    def check_counters_monotonic(self, first, second):
        for key, value in first.samples.items():
            family = first.family_of[key]
            if first.types[family] == "gauge":
                continue
            if first.types[family] == "histogram" and key[0].endswith("_sum"):
                continue
            with self.subTest(series=key):
                self.assertIn(key, second.samples, "a counter series disappeared")
                self.assertGreaterEqual(second.samples[key], value)

    def check_trust_and_process(self, scrape):
        labels = {"trust_domain": blackbox.TRUST_DOMAIN, "source": "file"}
        self.assertEqual(scrape.value("svidgate_bundle_jwt_keys", **labels), 1)
        self.assertEqual(scrape.value("svidgate_bundle_x509_authorities", **labels), 0)
        self.assertEqual(scrape.value("svidgate_bundle_sequence", **labels), 1)
        self.assertGreaterEqual(scrape.value("svidgate_bundle_age_seconds", **labels), 0)
        self.assertEqual(scrape.value("svidgate_snapshot_generation"), 1)
        self.assertGreaterEqual(scrape.value("svidgate_connections_accepted_total"), 12)
        self.assertGreaterEqual(scrape.value("svidgate_connections_open"), 1)
        started = scrape.value("svidgate_process_start_time_seconds")
        self.assertLessEqual(abs(time.time() - started), 120)

    def test_head_metrics_has_no_body(self):
        connection = blackbox.Connection(self.server.port)
        try:
            connection.send(blackbox.request_bytes("HEAD", "/metrics"))
            response = connection.read_response_without_body()
        finally:
            connection.close()
        self.assertEqual(response.status, 200)
        self.assertGreater(int(response.header("content-length")), 0)


class CredentialLogTest(unittest.TestCase):
    """Invalid credentials, many times over; the log must contain only fingerprints."""

    def test_log_has_fingerprints_not_credentials(self):
        with open(os.path.join(blackbox.SOURCE_DIR, "net", "log.h"), encoding="utf-8") as header:
            repeats_max = int(re.search(REPEATS_MAX_PATTERN, header.read()).group(1))
        with tempfile.TemporaryDirectory() as folder:
            credentials = blackbox.Credentials(folder)
            server = blackbox.Server(credentials, workers=2)
            try:
                secrets = self.send_invalid_credentials(server, credentials, repeats_max)
            finally:
                server.stop()
        log = server.log_text()

        for secret in secrets:
            for part in re.split(r"[.\n]", secret):
                if len(part) >= 12:
                    self.assertNotIn(part, log)
        bad_signature = secrets[0]
        fingerprint = hashlib.sha256(bad_signature.encode()).hexdigest()[:16]
        self.assertIn(f"error=bad_signature fp={fingerprint}", log)
        for error in ("bad_signature", "expired", "malformed"):
            with self.subTest(error=error):
                lines = [line for line in log.split("\n")
                         if 'msg="credential rejected"' in line and f"error={error} " in line]
                self.assertGreater(len(lines), 0)
                self.assertLessEqual(len(lines), repeats_max)
        self.assertIn("kind=x509 error=malformed fp=", log)

    def send_invalid_credentials(self, server, credentials, repeats_max):
        """Send each invalid credential more often than the log admits; return them."""
        expired = credentials.token(lifetime=-3600)
        garbage = "eyJub3RhIjoiand0In0.c2VjcmV0LXBheWxvYWQtYnl0ZXM.c2lnbmF0dXJlLWJ5dGVz"
        pem = ("-----BEGIN CERTIFICATE-----\nTUlJQ0lqQ0NBY21nQXdJQkFnSVVzZWNyZXQ=\n"
               "-----END CERTIFICATE-----\n")
        secrets = [credentials.token_with_bad_signature(), expired, garbage, pem]
        connection = blackbox.Connection(server.port)
        try:
            for _ in range(repeats_max + 5):
                for token in secrets[:3]:
                    connection.send(blackbox.request_bytes(
                        "POST", "/v1/jwt-svid/verify", blackbox.verify_body(token)))
                    self.assertEqual(connection.read_response().status, 200)
                connection.send(blackbox.request_bytes(
                    "POST", "/v1/x509-svid/verify", pem.encode(),
                    headers=["Content-Type: application/x-pem-file"]))
                self.assertEqual(connection.read_response().status, 200)
        finally:
            connection.close()
        return secrets


if __name__ == "__main__":
    unittest.main(verbosity=2)
