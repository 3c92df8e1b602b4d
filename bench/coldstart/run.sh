#!/usr/bin/env bash
# bench/coldstart: cold starts from zero replicas, and a step of load from 1 to 20 clients.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The project's Node 24 (npm run puts node_modules/.bin first on PATH; fall back to it explicitly).
NODE=node
if [ -x ./node_modules/.bin/node ]; then NODE=./node_modules/.bin/node; fi
exec "$NODE" --disable-warning=ExperimentalWarning bench/coldstart/bench.ts "$@"
