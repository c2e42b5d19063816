#!/usr/bin/env bash
# The test command of README.md: lint, then every test (unit, CLI, corpus goldens).
# Installs what the tests need on a fresh machine (Rust components, tmux for the TUI test).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) || echo "note: tmux not installed; tmux-driven tests will be skipped"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# Interoperability tests (tests/interop.rs) check exports with each ecosystem's own tools:
# sigma-cli/pySigma, eql, PySpark and python-evtx from PyPI (Spark needs Java 17+), Kusto.Language from npm.
if ! command -v java >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
# Python tools go into the project's own virtual environment (never the machine's Python); the
# tests find them as `python3` on PATH.
VENV=target/interop-venv
if [ ! -x "$VENV/bin/python3" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    rm -rf "$VENV"
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
fi
"$VENV/bin/python3" -m pip install -q --disable-pip-version-check -r scripts/interop/requirements.txt
export PATH="$PWD/$VENV/bin:$PATH"
if [ ! -d target/interop-node/node_modules/@kusto/language-service-next ]; then
  mkdir -p target/interop-node
  npm install --silent --no-audit --no-fund --prefix target/interop-node @kusto/language-service-next@12.4.1
fi
# The core never touches the terminal: only src/tui/ may use ratatui or crossterm.
if grep -rln "ratatui\|crossterm" src --include='*.rs' | grep -v '^src/tui/'; then
  echo "ratatui/crossterm used outside src/tui/" >&2
  exit 1
fi
cargo fmt --all -- --check
# cargo fmt does not reach the modules lib.rs declares through its `internal!` macro: every file.
find src tests benches examples fuzz -name '*.rs' -print0 2>/dev/null | xargs -0 rustfmt --edition 2024 --check
cargo clippy --all-targets --locked -- -D warnings
# Without the `bench` feature too: the crate-private build has its own dead-code and API lints.
cargo clippy --lib --bins --locked -- -D warnings
cargo test --locked
