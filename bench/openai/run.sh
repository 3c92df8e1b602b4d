#!/usr/bin/env bash
# bench/openai: streams through Girder's /v1 against the same stand-in LLM server called directly.
# Usage: npm run bench:openai -- [--streams 300] [--duration 10] [--open 1000] ... See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The project's Node 24 (npm run puts node_modules/.bin first on PATH; fall back to it explicitly).
NODE=node
if [ -x ./node_modules/.bin/node ]; then NODE=./node_modules/.bin/node; fi
exec "$NODE" --disable-warning=ExperimentalWarning bench/openai/bench.ts "$@"
