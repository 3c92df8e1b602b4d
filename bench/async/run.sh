#!/usr/bin/env bash
# bench/async: durable submit throughput and idle dispatch latency. Installs wrk with apt if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
exec node --disable-warning=ExperimentalWarning bench/async/bench.ts "$@"
