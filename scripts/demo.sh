#!/usr/bin/env bash
# Installs what is missing, builds svidgate, mints a demo trust bundle and
# token for trust domain demo.example, and runs `svidgate serve` on
# 127.0.0.1:${SVIDGATE_DEMO_PORT:-8080} in the foreground (Ctrl-C stops it).
set -euo pipefail

cd "$(dirname "$0")/.."
port=${SVIDGATE_DEMO_PORT:-8080}
demo_dir=build/demo

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build -j"$(nproc)"

/usr/bin/python3 scripts/demo_credentials.py "$demo_dir"
token=$(cat "$demo_dir/token.jwt")

cat <<MSG

svidgate is starting on 127.0.0.1:${port} for trust domain demo.example.
In another terminal, verify the demo token (valid for one hour):

curl -s http://127.0.0.1:${port}/v1/jwt-svid/verify -H 'Content-Type: application/json' -d '{"token":"${token}","audience":"demo"}'

Or verify it from the command line:

build/svidgate verify jwt --bundle demo.example=${demo_dir}/bundle.json --audience demo ${demo_dir}/token.jwt

MSG

exec build/svidgate serve --listen "127.0.0.1:${port}" \
    --bundle "demo.example=${demo_dir}/bundle.json" --audience demo
