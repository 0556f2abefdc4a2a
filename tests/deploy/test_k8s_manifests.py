#!/usr/bin/python3
"""docker/k8s/ against yamllint and against the svidgate binary itself.

The manifests must pass yamllint. The Deployment's arguments must use
only flags that `svidgate serve --help` lists, and the binary must start
with exactly those arguments (the listen address moved to 127.0.0.1:0,
the ConfigMap's bundles and the state directory moved into a temporary
folder) and return 200 on the probe paths. Ports, probes, the
Service, the PodDisruptionBudget, the HorizontalPodAutoscaler and the
security settings must agree with each other and with the image.
"""

import glob
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "net"))
from test_server_blackbox import SOURCE_DIR, Server, skip_or_fail  # noqa: E402

K8S_DIR = os.path.join(SOURCE_DIR, "docker", "k8s")
BINARY = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
IMAGE_USER = 10001  # USER of docker/Dockerfile's runtime stage
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
HTTP_TIMEOUT_SECONDS = 5


class ArgvServer(Server):
    """The black-box tests' Server, started with a given argv."""

    def __init__(self, argv):  # pylint: disable=super-init-not-called
        self.argv = argv
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = self._wait_for_port()


def load_manifests():
    """Return {kind: document} of every manifest, one document per kind."""
    documents = {}
    for path in sorted(glob.glob(os.path.join(K8S_DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as manifest:
            for document in yaml.safe_load_all(manifest):
                documents[document["kind"]] = document
    return documents


def serve_flags():
    completed = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True,
                               timeout=30)
    return set(FLAG.findall(completed.stdout + completed.stderr))


def option_values(args, flag):
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]


def parse_cpu(quantity):
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


class ManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifests = load_manifests()
        cls.deployment = cls.manifests["Deployment"]
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        cls.container = cls.pod["containers"][0]
        cls.args = cls.container["args"]

    def test_yamllint_passes(self):
        if shutil.which("yamllint") is None:
            self.fail("yamllint is not installed (scripts/install-deps.sh --test)")
        completed = subprocess.run(
            ["yamllint", "--strict", "-c", os.path.join(K8S_DIR, ".yamllint"), K8S_DIR],
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(completed.returncode, 0, completed.stdout + completed.stderr)

    def test_every_kind_present(self):
        for kind in ("Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
                     "HorizontalPodAutoscaler"):
            self.assertIn(kind, self.manifests)

    def test_args_use_real_flags(self):
        self.assertEqual(self.args[0], "serve")
        known = serve_flags()
        self.assertIn("--listen", known)
        for flag in [arg for arg in self.args if arg.startswith("--")]:
            with self.subTest(flag=flag):
                self.assertIn(flag, known)

    def test_container_port_matches_listen(self):
        listen = option_values(self.args, "--listen")
        self.assertEqual(len(listen), 1)
        host, port = listen[0].rsplit(":", 1)
        self.assertEqual(host, "0.0.0.0", "a pod must listen beyond its loopback")
        ports = {entry["name"]: entry["containerPort"] for entry in self.container["ports"]}
        self.assertEqual(ports["http"], int(port))

    def test_probes_use_health_paths(self):
        readiness = self.container["readinessProbe"]["httpGet"]
        liveness = self.container["livenessProbe"]["httpGet"]
        self.assertEqual(readiness["path"], "/readyz")
        self.assertEqual(liveness["path"], "/healthz")
        port_names = {entry["name"] for entry in self.container["ports"]}
        self.assertIn(readiness["port"], port_names)
        self.assertIn(liveness["port"], port_names)

    def test_resources_and_workers(self):
        resources = self.container["resources"]
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                with self.subTest(kind=kind, resource=resource):
                    self.assertIn(resource, resources[kind])
        workers = int(option_values(self.args, "--workers")[0])
        self.assertLessEqual(workers, parse_cpu(resources["limits"]["cpu"]))

    def test_security_context_restrictive(self):
        pod_context = self.pod["securityContext"]
        context = self.container["securityContext"]
        self.assertTrue(pod_context["runAsNonRoot"])
        self.assertEqual(pod_context["runAsUser"], IMAGE_USER)
        self.assertIn(pod_context["seccompProfile"]["type"], ("Localhost", "RuntimeDefault"))
        self.assertTrue(context["readOnlyRootFilesystem"])
        self.assertFalse(context["allowPrivilegeEscalation"])
        self.assertFalse(context.get("privileged", False))
        self.assertEqual(context["capabilities"]["drop"], ["ALL"])
        self.assertFalse(self.pod["automountServiceAccountToken"])

    def test_volumes_cover_paths(self):
        mounts = {mount["mountPath"]: mount for mount in self.container["volumeMounts"]}
        state_dir = option_values(self.args, "--state-dir")[0]
        self.assertIn(state_dir, mounts)
        self.assertFalse(mounts[state_dir].get("readOnly", False))
        configmap = self.manifests["ConfigMap"]["metadata"]["name"]
        volumes = {volume["name"]: volume for volume in self.pod["volumes"]}
        for value in option_values(self.args, "--bundle"):
            path = value.split("=", 1)[1]
            folder, name = os.path.split(path)
            with self.subTest(bundle=path):
                self.assertIn(folder, mounts)
                volume = volumes[mounts[folder]["name"]]
                self.assertEqual(volume["configMap"]["name"], configmap)
                self.assertIn(name, self.manifests["ConfigMap"]["data"])

    def test_service_selects_pods(self):
        service = self.manifests["Service"]["spec"]
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for key, value in service["selector"].items():
            self.assertEqual(labels.get(key), value)
        port_names = {entry["name"] for entry in self.container["ports"]}
        for port in service["ports"]:
            self.assertIn(port["targetPort"], port_names)

    def test_disruption_budget_and_autoscaler(self):
        budget = self.manifests["PodDisruptionBudget"]["spec"]
        autoscaler = self.manifests["HorizontalPodAutoscaler"]["spec"]
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for key, value in budget["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(key), value)
        self.assertLess(budget["minAvailable"], self.deployment["spec"]["replicas"])
        self.assertLess(budget["minAvailable"], autoscaler["minReplicas"])
        self.assertEqual(autoscaler["scaleTargetRef"]["kind"], "Deployment")
        self.assertEqual(autoscaler["scaleTargetRef"]["name"],
                         self.deployment["metadata"]["name"])
        self.assertEqual(autoscaler["metrics"][0]["resource"]["name"], "cpu")

    def test_binary_starts_with_manifest_args(self):
        """Run svidgate with the Deployment's arguments and the ConfigMap's bundles."""
        with tempfile.TemporaryDirectory() as folder:
            bundle_dir = os.path.join(folder, "bundles")
            os.mkdir(bundle_dir)
            for name, text in self.manifests["ConfigMap"]["data"].items():
                with open(os.path.join(bundle_dir, name), "w", encoding="utf-8") as bundle:
                    bundle.write(text)

            argv = list(self.args[1:])
            for i, arg in enumerate(argv[:-1]):
                if arg == "--listen":
                    argv[i + 1] = "127.0.0.1:0"
                elif arg == "--state-dir":
                    argv[i + 1] = os.path.join(folder, "state")
                    os.mkdir(argv[i + 1])
                elif arg == "--bundle":
                    domain, path = argv[i + 1].split("=", 1)
                    argv[i + 1] = f"{domain}={os.path.join(bundle_dir, os.path.basename(path))}"

            server = ArgvServer([BINARY, "serve", *argv])
            try:
                for probe in ("readinessProbe", "livenessProbe"):
                    path = self.container[probe]["httpGet"]["path"]
                    url = f"http://127.0.0.1:{server.port}{path}"
                    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
                        self.assertEqual(response.status, 200, path)
            finally:
                status, _ = server.stop()
            self.assertEqual(status, 0, server.log_text())


if __name__ == "__main__":
    if not os.access(BINARY, os.X_OK):
        skip_or_fail(f"svidgate binary {BINARY} not found; build it or set SVIDGATE_BIN")
    unittest.main()
