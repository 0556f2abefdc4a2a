#!/usr/bin/python3
"""libsvidgate as a user gets it: installed, found by pkg-config, linked.

The test runs `cmake --install` of the build tree into a temporary
prefix. It checks that the shared library exports only svidgate_*
symbols under the SONAME libsvidgate.so.0. Then it builds
examples/verify_tokens.c from the installed copy with
`cc $(pkg-config --cflags --libs svidgate)` (shared) and again against
libsvidgate.a (static), and runs both on a token file minted with
python3-jwcrypto.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from jwcrypto import jwk, jwt

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
BUILD_DIR = os.environ.get("SVIDGATE_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
TRUST_DOMAIN = "example.org"
SPIFFE_ID = "spiffe://example.org/batch"
AUDIENCE = "batch-jobs"
COMMAND_TIMEOUT_SECONDS = 120


def run(argv, env=None, check=True):
    completed = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"{argv} failed with {completed.returncode}:\n{completed.stderr}")
    return completed


def sanitizer_flags():
    """Return -fsanitize flags when the build tree is a sanitizer build."""
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as cache:
        match = re.search(r"^SVIDGATE_SANITIZE:\w+=(.*)$", cache.read(), re.MULTILINE)
    value = match.group(1).strip() if match else ""
    return [f"-fsanitize={value}"] if value else []


class Tokens:
    """An ES256 key, its bundle file and a token file with one case per line."""

    def __init__(self, folder):
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="batch-1")
        other = jwk.JWK.generate(kty="EC", crv="P-256", kid="batch-1")
        entry = json.loads(self.key.export_public())
        entry["use"] = "jwt-svid"
        self.bundle_path = os.path.join(folder, "bundle.json")
        with open(self.bundle_path, "w", encoding="utf-8") as bundle:
            json.dump({"keys": [entry], "spiffe_sequence": 1}, bundle)

        now = int(time.time())
        self.cases = [
            ("ok", self.token(self.key, AUDIENCE, now + 600)),
            ("audience_mismatch", self.token(self.key, "other", now + 600)),
            ("bad_signature", self.token(other, AUDIENCE, now + 600)),
            ("expired", self.token(self.key, AUDIENCE, now - 3600)),
            ("malformed", "not-a-jwt"),
        ]
        self.token_path = os.path.join(folder, "tokens.txt")
        with open(self.token_path, "w", encoding="utf-8") as tokens:
            tokens.write("".join(token + "\n" for _, token in self.cases))

    @staticmethod
    def token(key, audience, expires_at):
        claims = {"sub": SPIFFE_ID, "aud": [audience], "exp": expires_at,
                  "iat": expires_at - 3600 - 600}
        signed = jwt.JWT(header={"alg": "ES256", "kid": "batch-1", "typ": "JWT"}, claims=claims)
        signed.make_signed_token(key)
        return signed.serialize()


class InstalledLibraryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            raise AssertionError(f"no build tree at {BUILD_DIR}; set SVIDGATE_BUILD_DIR")
        cls.folder = tempfile.TemporaryDirectory()
        cls.prefix = os.path.join(cls.folder.name, "prefix")
        run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix])
        pc_files = glob.glob(os.path.join(cls.prefix, "**", "pkgconfig", "svidgate.pc"),
                             recursive=True)
        if len(pc_files) != 1:
            raise AssertionError(f"expected one installed svidgate.pc, found {pc_files}")
        cls.pkgconfig_dir = os.path.dirname(pc_files[0])
        cls.libdir = os.path.dirname(cls.pkgconfig_dir)
        cls.env = dict(os.environ, PKG_CONFIG_PATH=cls.pkgconfig_dir)
        cls.tokens = Tokens(cls.folder.name)
        cls.example = os.path.join(cls.prefix, "share", "doc", "svidgate", "examples",
                                   "verify_tokens.c")

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def pkg_config(self, *arguments):
        return run(["pkg-config", *arguments, "svidgate"], env=self.env).stdout.split()

    def run_example(self, binary, env):
        return run([binary, TRUST_DOMAIN, self.tokens.bundle_path, AUDIENCE,
                    self.tokens.token_path], env=env, check=False)

    def check_results(self, completed):
        self.assertEqual(completed.returncode, 1, completed.stderr)
        lines = completed.stdout.splitlines()
        self.assertEqual(len(lines), len(self.tokens.cases), completed.stdout)
        for (expected, _), line in zip(self.tokens.cases, lines):
            result = json.loads(line)
            if expected == "ok":
                self.assertTrue(result["valid"], line)
                self.assertEqual(result["spiffe_id"], SPIFFE_ID, line)
            else:
                self.assertFalse(result["valid"], line)
                self.assertEqual(result["error"], expected, line)
        self.assertIn("libsvidgate 0.1.0, 4 invalid", completed.stderr)

    def test_installed_files(self):
        for relative in ("include/svidgate.h", "bin/svidgate", "share/man/man1/svidgate.1",
                         "lib/systemd/system/svidgate.service"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, relative)), relative)
        for name in ("libsvidgate.a", "libsvidgate.so", "libsvidgate.so.0"):
            self.assertTrue(os.path.exists(os.path.join(self.libdir, name)), name)

    def test_shared_library_soname(self):
        dynamic = run(["readelf", "-d", os.path.join(self.libdir, "libsvidgate.so")]).stdout
        self.assertIn("Library soname: [libsvidgate.so.0]", dynamic)

    def test_only_api_symbols_exported(self):
        listing = run(["nm", "-D", "--defined-only",
                       os.path.join(self.libdir, "libsvidgate.so")]).stdout
        exported = [fields[-1].split("@")[0] for fields in map(str.split, listing.splitlines())
                    if len(fields) == 3 and fields[1] != "A"]
        self.assertIn("svidgate_verify_jwt", exported)
        self.assertIn("svidgate_verify_x509_pem", exported)
        foreign = [name for name in exported if not name.startswith("svidgate_")]
        self.assertEqual(foreign, [], "symbols outside the API are exported")

    def test_pkg_config_flags(self):
        include_dirs = [os.path.normpath(flag[2:]) for flag in self.pkg_config("--cflags")
                        if flag.startswith("-I")]
        self.assertIn(os.path.join(self.prefix, "include"), include_dirs)
        self.assertIn("-lsvidgate", self.pkg_config("--libs"))
        static_libs = self.pkg_config("--static", "--libs")
        self.assertIn("-ljansson", static_libs)
        self.assertIn("-lcrypto", static_libs)

    def test_example_shared(self):
        binary = os.path.join(self.folder.name, "verify_tokens_shared")
        run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", *sanitizer_flags(), self.example,
             "-o", binary, *self.pkg_config("--cflags", "--libs")], env=self.env)
        env = dict(os.environ, LD_LIBRARY_PATH=self.libdir)
        needed = run(["readelf", "-d", binary]).stdout
        self.assertIn("libsvidgate.so.0", needed)
        self.check_results(self.run_example(binary, env))

    def test_example_static(self):
        binary = os.path.join(self.folder.name, "verify_tokens_static")
        # The archive by path, then the private libraries it needs: with
        # -lsvidgate the linker would pick the shared library.
        archive = os.path.join(self.pkg_config("--variable=libdir")[0], "libsvidgate.a")
        libs = [flag for flag in self.pkg_config("--static", "--libs") if flag != "-lsvidgate"]
        run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", *sanitizer_flags(), self.example,
             "-o", binary, *self.pkg_config("--cflags"), archive, *libs], env=self.env)
        needed = run(["readelf", "-d", binary]).stdout
        self.assertNotIn("libsvidgate", needed)
        self.check_results(self.run_example(binary, dict(os.environ)))

    def test_example_rejects_bad_bundle(self):
        binary = os.path.join(self.folder.name, "verify_tokens_bad_bundle")
        run(["cc", *sanitizer_flags(), self.example, "-o", binary,
             *self.pkg_config("--cflags", "--libs")], env=self.env)
        bad = os.path.join(self.folder.name, "bad.json")
        with open(bad, "w", encoding="utf-8") as bundle:
            bundle.write("{not json")
        completed = run([binary, TRUST_DOMAIN, bad, AUDIENCE, self.tokens.token_path],
                        env=dict(os.environ, LD_LIBRARY_PATH=self.libdir), check=False)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("(malformed)", completed.stderr)


if __name__ == "__main__":
    if shutil.which("pkg-config") is None or shutil.which("cc") is None:
        print("FAIL: pkg-config and cc are needed (scripts/install-deps.sh)", file=sys.stderr)
        sys.exit(1)
    unittest.main()
