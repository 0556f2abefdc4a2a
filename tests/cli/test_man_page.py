#!/usr/bin/python3
"""docs/svidgate.1 against the binary's help texts, so the two cannot drift.

Every `--flag` that `svidgate --help` or a command's `--help` prints must
appear in the man page, and every command must have its own section. The
page must also render without warnings from man(1) where it is installed.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
BINARY = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
MAN_PAGE = os.path.join(SOURCE_DIR, "docs", "svidgate.1")
COMMANDS = (("serve",), ("verify", "jwt"), ("verify", "x509"), ("bundle", "fetch"))
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def help_text(*command):
    completed = subprocess.run([BINARY, *command, "--help"], capture_output=True, text=True,
                               timeout=30)
    return completed.stdout + completed.stderr


def man_text():
    """Return the page's source with roff's escaped hyphens made plain."""
    with open(MAN_PAGE, encoding="utf-8") as page:
        return page.read().replace("\\-", "-")


class ManPageTest(unittest.TestCase):
    def setUp(self):
        if not os.access(BINARY, os.X_OK):
            self.fail(f"svidgate binary {BINARY} not found; build it or set SVIDGATE_BIN")
        self.page = man_text()

    def test_every_help_flag_documented(self):
        texts = {"svidgate": help_text()}
        for command in COMMANDS:
            texts[" ".join(command)] = help_text(*command)
        documented = set(FLAG.findall(self.page))
        for name, text in texts.items():
            flags = set(FLAG.findall(text))
            self.assertTrue(flags, f"no flags found in the help of {name}")
            for flag in sorted(flags):
                with self.subTest(command=name, flag=flag):
                    self.assertIn(flag, documented, f"{name} --help has {flag}; svidgate.1 lacks it")

    def test_every_command_has_section(self):
        for command in COMMANDS:
            self.assertIn(f".SS {' '.join(command)}\n", self.page)

    def test_federate_options_documented(self):
        serve_help = help_text("serve")
        for option in re.findall(r"\[,([a-z_]+)=", serve_help):
            with self.subTest(option=option):
                self.assertIn(f"{option}=", self.page)

    def test_version_matches_binary(self):
        version = subprocess.run([BINARY, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.split()[-1]
        self.assertIn(f'"svidgate {version}"', self.page)

    def test_renders_without_warnings(self):
        if shutil.which("man") is None:
            self.skipTest("man(1) is not installed")
        completed = subprocess.run(
            ["man", "--warnings", "-l", MAN_PAGE], capture_output=True, text=True, timeout=60,
            env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"),
        )
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(completed.stderr.strip(), "")
        self.assertIn("verify jwt", completed.stdout)


if __name__ == "__main__":
    sys.exit(unittest.main())
