#!/usr/bin/env bash
# Builds the package and serves the demo page with its embedded agent backend on
# http://127.0.0.1:${PORT:-8080}/ (no Kapa account, no internet). Installs what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
bash scripts/build-pkg.sh
exec bash www/run.sh "$@"
