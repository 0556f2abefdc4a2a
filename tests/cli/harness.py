"""Run `svidgate verify jwt` or `verify x509` and check its JSON Lines output.

Shared by the tests in this folder. The binary comes from SVIDGATE_BIN
(set by ctest) or build/svidgate under the source tree. When it is
missing, the tests exit with 77 (skipped), or fail when CI=true.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "tools"))

import mint  # noqa: E402  (the path above makes it importable)

SKIP_EXIT = 77
RUN_TIMEOUT_SECONDS = 60

# The error codes of the interface contract.
ERROR_CODES = {
    "malformed", "unsupported_alg", "missing_kid", "unknown_key", "bad_signature",
    "expired", "not_yet_valid", "audience_mismatch", "invalid_spiffe_id",
    "unknown_trust_domain", "chain_invalid", "leaf_not_svid", "missing_credential",
    "policy_denied",
}


def in_ci():
    return os.environ.get("CI") == "true"


def skip_or_fail(reason):
    """Exit 77 with "SKIP: reason", or exit 1 with "FAIL: reason" under CI=true."""
    if in_ci():
        print(f"FAIL: {reason} (CI=true, so this is not skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP_EXIT)


def binary_path():
    """Return the svidgate binary, skipping the whole script when it is absent."""
    path = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
    if not os.access(path, os.X_OK):
        skip_or_fail(f"svidgate binary {path} not found; build it or set SVIDGATE_BIN")
    return path


def _reject_duplicate_members(pairs):
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate member in output object: {names}")
    return dict(pairs)


class Run:
    """One finished svidgate process: exit status, output lines, results."""

    def __init__(self, argv, completed):
        self.argv = argv
        self.returncode = completed.returncode
        self.stdout = completed.stdout.decode("utf-8", "replace")
        self.stderr = completed.stderr.decode("utf-8", "replace")
        self.results = []
        self.parse_error = None
        for line in self.stdout.splitlines():
            try:
                self.results.append(json.loads(line, object_pairs_hook=_reject_duplicate_members))
            except ValueError as error:
                self.parse_error = f"output line is not one JSON object: {line!r}: {error}"
                break

    def describe(self):
        stdout = self.stdout if len(self.stdout) < 2000 else self.stdout[:2000] + "..."
        stderr = self.stderr if len(self.stderr) < 2000 else self.stderr[:2000] + "..."
        return (f"\n  exit status: {self.returncode}\n  stdout: {stdout!r}"
                f"\n  stderr: {stderr!r}")


def run_svidgate(arguments, stdin_bytes=b""):
    """Run svidgate with arguments (a list) and return a Run."""
    argv = [binary_path()] + [str(argument) for argument in arguments]
    completed = subprocess.run(argv, input=stdin_bytes, capture_output=True,
                               timeout=RUN_TIMEOUT_SECONDS, check=False)
    return Run(argv, completed)


def verify_arguments(bundles, audiences, now=None, leeway=None, extra=()):
    """Build the argument list of `svidgate verify jwt` (inputs not included)."""
    arguments = ["verify", "jwt"]
    for trust_domain, path in bundles.items():
        arguments += ["--bundle", f"{trust_domain}={path}"]
    for audience in audiences:
        arguments += ["--audience", audience]
    if now is not None:
        arguments += ["--now", str(now)]
    if leeway is not None:
        arguments += ["--leeway", str(leeway)]
    return arguments + list(extra)


class VerifierTestCase(unittest.TestCase):
    """Assertions on svidgate's verdicts. Subclasses set bundles, audiences and now."""

    maxDiff = None
    bundles = {}
    audiences = ()
    now = None

    def verify(self, *tokens, bundles=None, audiences=None, now=None, leeway=None,
               extra=(), use_stdin=True):
        """Verify tokens (fed on standard input, one per line) and return the Run."""
        arguments = verify_arguments(
            self.bundles if bundles is None else bundles,
            self.audiences if audiences is None else audiences,
            self.now if now is None else now,
            leeway,
            extra,
        )
        stdin_bytes = b""
        if use_stdin:
            stdin_bytes = "".join(token + "\n" for token in tokens).encode("utf-8")
        return run_svidgate(arguments, stdin_bytes)

    def assert_output_parses(self, run):
        self.assertIsNone(run.parse_error, run.parse_error + run.describe() if run.parse_error else "")

    def verify_one(self, token, expected_exit, **options):
        run = self.verify(token, **options)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, expected_exit, run.describe())
        self.assertEqual(len(run.results), 1, "expected exactly one result line" + run.describe())
        return run.results[0]

    def assert_rejected(self, token, code, **options):
        """Assert that svidgate rejects token with exactly this error code."""
        self.assertIn(code, ERROR_CODES)
        result = self.verify_one(token, 1, **options)
        self.assertIs(result.get("valid"), False, result)
        self.assertEqual(result.get("error"), code, result)
        self.assertIsInstance(result.get("message"), str, result)
        self.assertTrue(result["message"].strip(), f"empty message: {result}")
        self.assertNotIn("spiffe_id", result, "an invalid result names no SPIFFE ID")
        self.assertNotIn("claims", result, "an invalid result carries no claims")
        self.assert_no_secret_echo(token, result["message"])
        return result

    def assert_rejected_any(self, token, codes, **options):
        """Assert a rejection whose code is one of codes.

        Only for inputs where the contract leaves the code open. Each use
        explains why in a comment.
        """
        result = self.verify_one(token, 1, **options)
        self.assertIs(result.get("valid"), False, result)
        self.assertIn(result.get("error"), set(codes), result)
        return result

    def assert_valid(self, token, **options):
        """Assert that svidgate accepts token; return the result object."""
        result = self.verify_one(token, 0, **options)
        self.assertIs(result.get("valid"), True, result)
        self.assertNotIn("error", result, result)
        return result

    def assert_no_secret_echo(self, token, message):
        # A result message must never repeat the credential or its signature.
        parts = token.split(".")
        if len(parts) == 3 and len(parts[2]) >= 16:
            self.assertNotIn(parts[2], message, "message repeats the signature")
        if len(token) >= 40:
            self.assertNotIn(token, message, "message repeats the token")

    def assert_usage_error(self, arguments, stdin_bytes=b"", mention=None):
        """Assert exit 2 with a message on standard error and no results."""
        run = run_svidgate(arguments, stdin_bytes)
        self.assertEqual(run.returncode, 2, run.describe())
        self.assertTrue(run.stderr.strip(), "a usage error needs a message" + run.describe())
        self.assertEqual(run.stdout.strip(), "", "no result lines on a usage error" + run.describe())
        if mention is not None:
            self.assertIn(mention.lower(), run.stderr.lower(), run.describe())
        return run


def x509_verify_arguments(bundles, now=None, leeway=None, extra=()):
    """Build the argument list of `svidgate verify x509` (inputs not included)."""
    arguments = ["verify", "x509"]
    for trust_domain, path in bundles.items():
        arguments += ["--bundle", f"{trust_domain}={path}"]
    if now is not None:
        arguments += ["--now", str(now)]
    if leeway is not None:
        arguments += ["--leeway", str(leeway)]
    return arguments + list(extra)


class X509VerifierTestCase(VerifierTestCase):
    """Assertions on `svidgate verify x509` verdicts.

    A chain is PEM text (str or bytes): one input, leaf first. Subclasses
    set bundles (trust domain to bundle file) and now (Unix seconds).
    """

    def verify(self, *chains, bundles=None, now=None, leeway=None, extra=()):
        """Verify chains and return the Run.

        One chain goes to standard input. Several are written to files in
        a temporary folder and passed in order, one input each.
        """
        arguments = x509_verify_arguments(
            self.bundles if bundles is None else bundles,
            self.now if now is None else now,
            leeway,
            extra,
        )
        chain_bytes = [chain.encode("ascii") if isinstance(chain, str) else chain
                       for chain in chains]
        if len(chain_bytes) == 1:
            return run_svidgate(arguments, chain_bytes[0])
        with tempfile.TemporaryDirectory(prefix="svidgate-x509-inputs-") as folder:
            paths = []
            for index, data in enumerate(chain_bytes):
                path = os.path.join(folder, f"chain-{index}.pem")
                with open(path, "wb") as file:
                    file.write(data)
                paths.append(path)
            return run_svidgate(arguments + paths)

    def assert_rejected(self, chain, code, **options):
        """Assert that svidgate rejects chain with exactly this error code."""
        self.assertIn(code, ERROR_CODES)
        result = self.verify_one(chain, 1, **options)
        self.assertIs(result.get("valid"), False, result)
        self.assertEqual(result.get("error"), code, result)
        self.assertIsInstance(result.get("message"), str, result)
        self.assertTrue(result["message"].strip(), f"empty message: {result}")
        self.assertNotIn("spiffe_id", result, "an invalid result names no SPIFFE ID")
        self.assertNotIn("expires_at", result, "an invalid result has no expiry")
        self.assertNotIn("-----BEGIN", result["message"], "message repeats the PEM input")
        return result

    def assert_valid(self, chain, spiffe_id=None, trust_domain=None, expires_at=None,
                     **options):
        """Assert that svidgate accepts chain, and check the fields that are given."""
        result = self.verify_one(chain, 0, **options)
        self.assertIs(result.get("valid"), True, result)
        self.assertNotIn("error", result, result)
        self.assertIsInstance(result.get("spiffe_id"), str, result)
        self.assertIsInstance(result.get("trust_domain"), str, result)
        self.assertIsInstance(result.get("expires_at"), int, result)
        if spiffe_id is not None:
            self.assertEqual(result["spiffe_id"], spiffe_id, result)
        if trust_domain is not None:
            self.assertEqual(result["trust_domain"], trust_domain, result)
        if expires_at is not None:
            self.assertEqual(result["expires_at"], expires_at, result)
        return result


def main():
    """Run the unittest main of the calling script, after checking the binary."""
    binary_path()
    unittest.main(module="__main__", verbosity=2)
