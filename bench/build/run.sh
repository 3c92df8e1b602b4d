#!/usr/bin/env bash
# bench/build: a cold build with two small requirements, a cached one, and a replica's start in a virtualenv.
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE=node
if [ -x ./node_modules/.bin/node ]; then NODE=./node_modules/.bin/node; fi
exec "$NODE" --disable-warning=ExperimentalWarning bench/build/bench.ts "$@"
