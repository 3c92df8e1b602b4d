#!/usr/bin/env bash
# Proxy benchmark: direct vs Girder vs nginx against the same echo upstream. See bench/README.md.
# Usage: npm run bench:proxy -- [--duration 10] [--connections 32] [--baseline-proxy] ...
set -euo pipefail
cd "$(dirname "$0")/../.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if ! have nginx || ! have wrk; then
  echo "installing nginx and wrk with apt-get…" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nginx wrk >/dev/null
fi
# Debian keeps nginx in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin"

# The project's Node 24 (npm run puts node_modules/.bin first on PATH; fall back to it explicitly).
NODE=node
if [ -x ./node_modules/.bin/node ]; then NODE=./node_modules/.bin/node; fi
major=$("$NODE" -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 24 ]; then
  echo "bench/proxy needs Node 24 (found $("$NODE" --version)); run npm install, then npm run bench:proxy" >&2
  exit 1
fi
exec "$NODE" --disable-warning=ExperimentalWarning bench/proxy/bench.ts "$@"
