#!/usr/bin/env bash
# secdilemma developer entry point: creates or reuses the project environment, then
#   ./dev.sh main   runs the main job on the bundled data (belief about a rival, then the decision)
#   ./dev.sh test   runs the test suite (lint, type check, fast tests; CI=true adds a slow subset)
# Safe to run again: the environment is rebuilt only when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.secdilemma-installed"

find_python() {
    # .python-version selects 3.12.1 through pyenv where pyenv exists; otherwise any python>=3.12.
    local cand
    for cand in "$(command -v pyenv >/dev/null 2>&1 && pyenv which python 2>/dev/null || true)" \
                python3.13 python3.12 python3 python; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 && \
           "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$cand"; return 0
        fi
    done
    echo "dev.sh: Python >= 3.12 is required (PyMC 6 needs it). Install it (e.g. 'pyenv install 3.12') and run again." >&2
    return 1
}

ensure_env() {
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        local py; py="$(find_python)"
        echo "dev.sh: creating environment in .venv with $("$py" --version)" >&2
        rm -rf "$VENV"
        "$py" -m venv "$VENV"
    fi
    echo "dev.sh: installing secdilemma and its dependencies into .venv (first run takes a few minutes)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
    echo "$want" > "$STAMP"
}

ensure_chromium() {
    # The report's browser test (tests/test_report.py) renders report.html in headless
    # Chromium. Install Debian's package where it is missing and apt-get exists (quiet; a
    # second run finds it and does nothing). Where the install fails the test fails in CI
    # (CI=true) and is skipped locally, with the reason.
    command -v chromium >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || return 0
    echo "dev.sh: installing chromium (apt-get) for the report's browser test" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq chromium >/dev/null 2>&1 || \
            echo "dev.sh: could not install chromium (need root?); the browser test will fail in CI and be skipped otherwise" >&2
    fi
}

cmd="${1:-help}"; shift || true
case "$cmd" in
    main)
        ensure_env
        exec "$VENV/bin/secdilemma" main "$@"
        ;;
    test)
        ensure_env
        export PYTHONHASHSEED=0 MPLBACKEND=Agg
        ensure_chromium
        "$VENV/bin/ruff" check src tests benchmarks notebooks
        "$VENV/bin/mypy"
        if [ "${CI:-}" = "true" ]; then
            # CI: every fast test, plus the slow tests that are sized for CI (marked slow and ci).
            exec "$VENV/bin/python" -m pytest -q -m "not slow or ci" "$@"
        fi
        exec "$VENV/bin/python" -m pytest -q -m "not slow" "$@"
        ;;
    env)
        ensure_env
        ;;
    *)
        sed -n '2,6p' "$0"; exit 2
        ;;
esac
