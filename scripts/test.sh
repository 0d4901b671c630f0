#!/usr/bin/env bash
# Runs Muster's whole test suite. Installs what the tests need first: the third-party SCIM
# server `scim2-server` (PyPI) in .venv-scim2, for the interoperability tests,
# `schemathesis` (PyPI) in .venv-schemathesis, for the API test of `muster serve`, `aiosmtpd`
# (PyPI) in .venv-aiosmtpd for its e-mail report, promtool (Debian) for its metrics, Chromium
# with `playwright-core` (npm) for the dashboard's browser test and `oidc-provider` (npm) for
# its sign-in.
set -euo pipefail
cd "$(dirname "$0")/.."

SCIM2_SERVER_VERSION="0.8.3"
if [ ! -x .venv-scim2/bin/scim2-server ]; then
  echo "Installing scim2-server ${SCIM2_SERVER_VERSION} into .venv-scim2 ..."
  python3 -m venv .venv-scim2
  .venv-scim2/bin/pip install --quiet --disable-pip-version-check "scim2-server==${SCIM2_SERVER_VERSION}"
fi
export SCIM2_SERVER_BIN="$PWD/.venv-scim2/bin/scim2-server"

# Schemathesis (PyPI) in .venv-schemathesis: it runs against the OpenAPI document `muster serve`
# publishes (crates/muster-server/tests/it/schemathesis.rs).
SCHEMATHESIS_VERSION="4.32.5"
if [ ! -x .venv-schemathesis/bin/schemathesis ]; then
  echo "Installing schemathesis ${SCHEMATHESIS_VERSION} into .venv-schemathesis ..."
  python3 -m venv .venv-schemathesis
  .venv-schemathesis/bin/pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi
export SCHEMATHESIS_BIN="$PWD/.venv-schemathesis/bin/schemathesis"

# The dashboard's browser test (crates/muster-server/tests/it/dashboard.rs): Debian's `chromium`,
# driven by `playwright-core` (npm, pinned by tests/e2e/package-lock.json).
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing chromium ..."
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "Installing playwright-core into tests/e2e/node_modules ..."
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
export MUSTER_REQUIRE_BROWSER=1
# A real OpenID Connect provider (npm `oidc-provider`, pinned in tests/oidc/package-lock.json)
# for the dashboard sign-in tests (crates/muster-server/tests/it/oidc.rs, and the Chromium test in
# dashboard.rs, which signs in there); required, not skipped.
if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
  echo "Installing oidc-provider into tests/oidc/node_modules ..."
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi
export MUSTER_REQUIRE_OIDC=1
# aiosmtpd (PyPI) in .venv-aiosmtpd: the real SMTP server the e-mail report tests send to
# (crates/muster-server/tests/it/email.rs). MUSTER_REQUIRE_SMTP=1: missing, they fail, not skip.
AIOSMTPD_VERSION="1.4.6"
if [ ! -x .venv-aiosmtpd/bin/python ] || ! .venv-aiosmtpd/bin/python -c "import aiosmtpd" 2>/dev/null; then
  echo "Installing aiosmtpd ${AIOSMTPD_VERSION} into .venv-aiosmtpd ..."
  python3 -m venv .venv-aiosmtpd
  .venv-aiosmtpd/bin/pip install --quiet --disable-pip-version-check "aiosmtpd==${AIOSMTPD_VERSION}"
fi
export AIOSMTPD_PYTHON="$PWD/.venv-aiosmtpd/bin/python"
export MUSTER_REQUIRE_SMTP=1

# promtool (Debian's `prometheus` package) checks the text of /metrics
# (crates/muster-server/tests/it/metrics.rs). MUSTER_REQUIRE_PROMTOOL=1: missing, the test fails.
if ! command -v promtool >/dev/null 2>&1; then
  echo "Installing promtool (Debian package prometheus) ..."
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends prometheus; else sudo apt-get install -y --no-install-recommends prometheus; fi
fi
export MUSTER_REQUIRE_PROMTOOL=1

# PostgreSQL 15 on 127.0.0.1:5432 (trust auth, database `test`) for the store suite's PostgreSQL
# cases and the engine's PostgreSQL test; started when it is not running.
# MUSTER_REQUIRE_POSTGRES=1: unreachable, they fail, not skip.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "Starting PostgreSQL ..."
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO pg_ctlcluster 15 main start 2>/dev/null || $SUDO service postgresql start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export MUSTER_TEST_POSTGRES_URL="${MUSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export MUSTER_REQUIRE_POSTGRES=1

cargo test --workspace "$@"
