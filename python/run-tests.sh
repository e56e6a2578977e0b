#!/usr/bin/env bash
# Builds the custseg Python package and runs its tests (python/tests, pytest).
# Creates a venv when missing (CUSTSEG_VENV, default .venv at the repository root) and
# installs what the tests need: maturin, pytest, numpy, scikit-learn, pandas, pyarrow,
# pyspark; and Java 17 from apt when there is no Java (run as root, as CI does), for the
# Spark tests. Also builds the CLI, which the tests compare the package's pipeline against.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="${CUSTSEG_VENV:-$repo/.venv}"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
export PATH="$venv/bin:$PATH"  # maturin, for the in-place build
"$py" -m pip install --quiet --disable-pip-version-check maturin pytest numpy scikit-learn pandas pyarrow pyspark
if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless
    else
        echo "no Java found and cannot apt-get it: the Spark tests will skip (or fail with CUSTSEG_REQUIRE_SPARK=1)" >&2
    fi
fi

(cd "$repo" && cargo build --release --locked --bin custseg)
# In place (maturin from the venv, no isolated build env), into the repository's target/:
# the wheel, kept for the Spark cluster test (which ships it to executors), then installed.
wheels="$repo/target/wheels"
rm -f "$wheels"/custseg-*.whl
"$py" -m pip wheel --quiet --disable-pip-version-check --no-build-isolation --no-deps --wheel-dir "$wheels" "$here"
wheel="$(ls "$wheels"/custseg-*.whl)"
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

# From the repository root, so python/custseg (the sources) does not shadow the installed package.
cd "$repo"
CUSTSEG_BIN="$repo/target/release/custseg" CUSTSEG_WHEEL="$wheel" "$py" -m pytest -q -p no:cacheprovider python/tests "$@"
