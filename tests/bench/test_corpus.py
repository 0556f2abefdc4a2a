#!/usr/bin/python3
"""Tests of bench/corpus.py: every credential it writes verifies with
$SVIDGATE_BIN against the bundle it writes, for each algorithm, and the
hot set shares no token with the unique set.

Exit status 77 (skipped) when the binary is missing; with CI=true that
fails instead.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

SKIP_EXIT = 77
TIMEOUT_SECONDS = 120
SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
CORPUS = os.path.join(SOURCE_DIR, "bench", "corpus.py")


def skip_or_fail(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true, so this is not skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP_EXIT)


def read_lines(path):
    with open(path, encoding="ascii") as text:
        return [line.strip() for line in text if line.strip()]


class CorpusTest(unittest.TestCase):
    def setUp(self):
        self.binary = os.environ.get("SVIDGATE_BIN", "")
        if not os.access(self.binary, os.X_OK):
            skip_or_fail(f"SVIDGATE_BIN={self.binary!r} is not an executable")
        self.work = tempfile.TemporaryDirectory()
        self.folder = self.work.name

    def tearDown(self):
        self.work.cleanup()

    def corpus(self, *arguments):
        subprocess.run(["/usr/bin/python3", CORPUS, *arguments, self.folder], check=True,
                       timeout=TIMEOUT_SECONDS)

    def verify(self, kind, bundle, inputs):
        """Return the parsed result lines of `svidgate verify KIND`."""
        command = [self.binary, "verify", kind, "--bundle", f"bench.example={bundle}"]
        if kind == "jwt":
            command += ["--audience", "bench"]
        completed = subprocess.run(command + inputs, capture_output=True, text=True,
                                   timeout=TIMEOUT_SECONDS, check=False)
        return [json.loads(line) for line in completed.stdout.splitlines()]

    def check_jwt(self, alg):
        self.corpus("jwt", "--alg", alg, "--count", "5", "--hot", "3")
        tokens = os.path.join(self.folder, f"tokens-{alg}.txt")
        hot = os.path.join(self.folder, f"hot-{alg}.txt")
        bundle = os.path.join(self.folder, f"bundle-{alg}.json")

        self.assertEqual(len(read_lines(tokens)), 5)
        self.assertEqual(len(read_lines(hot)), 3)
        self.assertFalse(set(read_lines(tokens)) & set(read_lines(hot)))
        results = self.verify("jwt", bundle, [tokens, hot])
        self.assertEqual(len(results), 8)
        for result in results:
            self.assertTrue(result["valid"], result)
        subjects = {result["spiffe_id"] for result in results}
        self.assertEqual(len(subjects), 8)
        with open(os.path.join(self.folder, f"public-{alg}.pem"), encoding="ascii") as pem:
            self.assertIn("BEGIN PUBLIC KEY", pem.read())

    def test_es256_tokens_verify(self):
        self.check_jwt("ES256")

    def test_rs256_tokens_verify(self):
        self.check_jwt("RS256")

    def test_ps256_tokens_verify(self):
        self.check_jwt("PS256")

    def test_x509_chains_verify(self):
        self.corpus("x509", "--count", "3")
        root = os.path.join(self.folder, "x509-root.pem")
        chains = [json.loads(line)["chain"] for line in read_lines(os.path.join(self.folder, "chains.txt"))]
        self.assertEqual(len(chains), 3)

        paths = []
        for index, chain in enumerate(chains):
            self.assertEqual(len(chain), 2)
            path = os.path.join(self.folder, f"chain-{index}-test.pem")
            with open(path, "w", encoding="ascii") as pem:
                for der in chain:
                    body = base64.b64encode(base64.b64decode(der)).decode("ascii")
                    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
                    pem.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) +
                              "\n-----END CERTIFICATE-----\n")
            paths.append(path)
        paths.append(os.path.join(self.folder, "chain-0.pem"))

        results = self.verify("x509", root, paths)
        self.assertEqual(len(results), 4)
        for result in results:
            self.assertTrue(result["valid"], result)
        self.assertEqual(len({result["spiffe_id"] for result in results[:3]}), 3)
        # The intermediate is the same in every chain.
        self.assertEqual(len({chain[1] for chain in chains}), 1)


if __name__ == "__main__":
    unittest.main()
