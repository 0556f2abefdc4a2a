#!/usr/bin/python3
"""docker/k8s/ against yamllint and against the svidgate binary itself.

The manifests must pass yamllint. The Deployment runs `serve --config`
on the ConfigMap's svidgate.conf, and `serve --check-config` must accept
that file (its bundle paths and state directory moved into a temporary
folder). The binary must start with the Deployment's own arguments on
the ConfigMap's files, laid out as the kubelet mounts a ConfigMap
(listen address moved to 127.0.0.1:0), and return 200 on the probe
paths. A ConfigMap update, swapped in as the kubelet does it, must
reach the running server: bundles at once, the file on SIGHUP. Ports,
probes, the Service, the PodDisruptionBudget, the
HorizontalPodAutoscaler and the security settings must agree with each
other, with the configuration file and with the image.
"""

import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
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
RELOAD_TIMEOUT_SECONDS = 10


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


def read_config(text):
    """Return the (key, value) pairs of a svidgate configuration file."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        pairs.append((key.strip(), value.strip()))
    return pairs


def config_values(pairs, key):
    return [value for name, value in pairs if name == key]


def rewrite_config(text, replacements):
    """Return the file text with each key's value replaced by a function of the old value."""
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in replacements:
            value = line.split("=", 1)[1].strip()
            line = f"{key} = {replacements[key](value)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class KubeletMount:
    """A folder laid out as the kubelet mounts a ConfigMap volume.

    Each key is a symbolic link KEY -> ..data/KEY, and ..data links to a
    timestamped folder with the files. An update writes a new folder,
    points ..data at it with one rename() and removes the old folder.
    """

    def __init__(self, folder, files):
        self.folder = folder
        self.generation = 0
        self.current = None
        os.makedirs(folder)
        self.update(files)
        for name in files:
            os.symlink(os.path.join("..data", name), os.path.join(folder, name))

    def update(self, files):
        self.generation += 1
        name = f"..2026_12_05_00_00_0{self.generation}.{os.getpid()}"
        os.mkdir(os.path.join(self.folder, name))
        for key, text in files.items():
            with open(os.path.join(self.folder, name, key), "w", encoding="utf-8") as target:
                target.write(text)
        temporary = os.path.join(self.folder, "..data_tmp")
        os.symlink(name, temporary)
        os.rename(temporary, os.path.join(self.folder, "..data"))
        if self.current is not None:
            shutil.rmtree(os.path.join(self.folder, self.current))
        self.current = name

    def path(self, key):
        return os.path.join(self.folder, key)


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
        cls.configmap = cls.manifests["ConfigMap"]
        cls.config_path = option_values(cls.args, "--config")[0]
        cls.config_text = cls.configmap["data"][os.path.basename(cls.config_path)]
        cls.config = read_config(cls.config_text)

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

    def test_args_only_name_config(self):
        flags = [arg for arg in self.args if arg.startswith("--")]
        self.assertEqual(flags, ["--config"], "settings belong in the ConfigMap's svidgate.conf")

    def test_config_keys_are_serve_flags(self):
        known = serve_flags()
        for key, _ in self.config:
            with self.subTest(key=key):
                self.assertIn(f"--{key}", known)

    def test_config_mounted_from_configmap(self):
        mounts = {mount["mountPath"]: mount for mount in self.container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in self.pod["volumes"]}
        folder = os.path.dirname(self.config_path)
        self.assertIn(folder, mounts)
        self.assertTrue(mounts[folder]["readOnly"])
        # The kubelet never updates a subPath mount.
        self.assertNotIn("subPath", mounts[folder])
        volume = volumes[mounts[folder]["name"]]["configMap"]
        self.assertEqual(volume["name"], self.configmap["metadata"]["name"])
        # items can move a key into a sub-folder, where svidgate misses
        # every update after the first (see docker/k8s/README.md).
        self.assertNotIn("items", volume)

    def test_check_config_accepts_configmap(self):
        with tempfile.TemporaryDirectory() as folder:
            config = self.extract(folder)
            completed = subprocess.run([BINARY, "serve", "--config", config, "--check-config"],
                                       capture_output=True, text=True, timeout=30)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("the configuration is valid", completed.stdout)

    def extract(self, folder):
        """Write the ConfigMap's files into `folder` and return the config path.

        The config's bundle paths and state directory point into `folder`.
        """
        for name, text in self.configmap["data"].items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as target:
                target.write(text)
        state = os.path.join(folder, "state")
        os.mkdir(state)
        config = os.path.join(folder, os.path.basename(self.config_path))
        with open(config, "w", encoding="utf-8") as target:
            target.write(self.local_config(folder, state))
        return config

    def local_config(self, folder, state, text=None):
        """Return svidgate.conf for a run on 127.0.0.1 with the ConfigMap's files in `folder`."""
        def move_bundle(value):
            domain, path = value.split("=", 1)
            return f"{domain}={os.path.join(folder, os.path.basename(path))}"

        return rewrite_config(text or self.config_text, {
            "listen": lambda value: "127.0.0.1:0",
            "bundle": move_bundle,
            "state-dir": lambda value: state,
        })

    def test_container_port_matches_listen(self):
        listen = config_values(self.config, "listen")
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
        workers = int(config_values(self.config, "workers")[0])
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
        state_dir = config_values(self.config, "state-dir")[0]
        self.assertIn(state_dir, mounts)
        self.assertFalse(mounts[state_dir].get("readOnly", False))
        configmap = self.configmap["metadata"]["name"]
        volumes = {volume["name"]: volume for volume in self.pod["volumes"]}
        bundles = config_values(self.config, "bundle")
        self.assertTrue(bundles, "svidgate.conf names no seed bundle")
        for value in bundles:
            path = value.split("=", 1)[1]
            folder, name = os.path.split(path)
            with self.subTest(bundle=path):
                # The bundle watch gets an event for every ConfigMap update
                # only in the mount folder itself, where the kubelet renames ..data.
                self.assertIn(folder, mounts)
                volume = volumes[mounts[folder]["name"]]
                self.assertEqual(volume["configMap"]["name"], configmap)
                self.assertIn(name, self.configmap["data"])

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

    def start_on_kubelet_mount(self, folder):
        """Start svidgate with the Deployment's args on a kubelet-style mount of the ConfigMap."""
        mount_folder = os.path.join(folder, "config")
        state = os.path.join(folder, "state")
        os.mkdir(state)
        files = dict(self.configmap["data"])
        config_name = os.path.basename(self.config_path)
        files[config_name] = self.local_config(mount_folder, state)
        mount = KubeletMount(mount_folder, files)

        argv = list(self.args)
        argv[argv.index("--config") + 1] = mount.path(config_name)
        return mount, files, ArgvServer([BINARY, *argv])

    def test_binary_starts_with_manifest_args(self):
        """Run svidgate with the Deployment's arguments on the ConfigMap's files."""
        with tempfile.TemporaryDirectory() as folder:
            _, _, server = self.start_on_kubelet_mount(folder)
            try:
                for probe in ("readinessProbe", "livenessProbe"):
                    path = self.container[probe]["httpGet"]["path"]
                    url = f"http://127.0.0.1:{server.port}{path}"
                    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
                        self.assertEqual(response.status, 200, path)
            finally:
                status, _ = server.stop()
            self.assertEqual(status, 0, server.log_text())

    def test_configmap_update_reaches_server(self):
        """Bundle changes apply on the kubelet's swap, and svidgate.conf changes on SIGHUP."""
        with tempfile.TemporaryDirectory() as folder:
            mount, files, server = self.start_on_kubelet_mount(folder)
            try:
                bundle_name = os.path.basename(
                    config_values(self.config, "bundle")[0].split("=", 1)[1])
                # Two updates: the second shows the watch outlives the
                # removal of the folder that the first one replaced.
                for sequence in (101, 102):
                    bundle = json.loads(files[bundle_name])
                    bundle["spiffe_sequence"] = sequence
                    files[bundle_name] = json.dumps(bundle)
                    mount.update(files)
                    with self.subTest(sequence=sequence):
                        self.assertEqual(self.wait_for_sequence(server, sequence), sequence,
                                         server.log_text())

                config_name = os.path.basename(self.config_path)
                files[config_name] = re.sub(r"(?m)^stats = .*$", "stats = 7",
                                            files[config_name])
                self.assertIn("stats = 7", files[config_name])
                mount.update(files)
                seen = len(server.log)
                server.process.send_signal(signal.SIGHUP)
                line = self.wait_for_log(server, seen, "configuration change needs a restart")
                self.assertIn('keys="stats"', line)
            finally:
                status, _ = server.stop()
            self.assertEqual(status, 0, server.log_text())

    @staticmethod
    def wait_for_sequence(server, expected):
        """Poll GET /v1/bundles until the bundle has sequence `expected`.

        Returns the last sequence seen, so a timeout shows what the server has.
        """
        url = f"http://127.0.0.1:{server.port}/v1/bundles"
        deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
        sequence = None
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
                sequence = json.loads(response.read())["trust_domains"][0]["sequence"]
            if sequence == expected:
                break
            time.sleep(0.1)
        return sequence

    def wait_for_log(self, server, seen, message):
        deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for line in server.log[seen:]:
                if f'msg="{message}"' in line:
                    return line
            time.sleep(0.05)
        self.fail(f"no {message!r} log line after SIGHUP:\n{server.log_text()}")

if __name__ == "__main__":
    if not os.access(BINARY, os.X_OK):
        skip_or_fail(f"svidgate binary {BINARY} not found; build it or set SVIDGATE_BIN")
    unittest.main()
