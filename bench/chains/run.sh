#!/usr/bin/env bash
# bench/chains: what a chainlet-to-chainlet hop adds, and the Hello chain's latency and throughput.
# Installs wrk with apt if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
# The project's Node 24 (npm run puts node_modules/.bin first on PATH; fall back to it explicitly).
NODE=node
if [ -x ./node_modules/.bin/node ]; then NODE=./node_modules/.bin/node; fi
exec "$NODE" --disable-warning=ExperimentalWarning bench/chains/bench.ts "$@"
