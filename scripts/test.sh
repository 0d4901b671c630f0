#!/usr/bin/env bash
# Runs Muster's whole test suite. Installs what the tests need first: the third-party SCIM
# server `scim2-server` (PyPI) in .venv-scim2, for the interoperability tests.
set -euo pipefail
cd "$(dirname "$0")/.."

SCIM2_SERVER_VERSION="0.8.3"
if [ ! -x .venv-scim2/bin/scim2-server ]; then
  echo "Installing scim2-server ${SCIM2_SERVER_VERSION} into .venv-scim2 ..."
  python3 -m venv .venv-scim2
  .venv-scim2/bin/pip install --quiet --disable-pip-version-check "scim2-server==${SCIM2_SERVER_VERSION}"
fi
export SCIM2_SERVER_BIN="$PWD/.venv-scim2/bin/scim2-server"

cargo test --workspace "$@"
