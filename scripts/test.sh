#!/usr/bin/env bash
# The test command of README.md: lint, then every test (unit, CLI, corpus goldens).
# Installs what the tests need on a fresh machine (Rust components, tmux for the TUI test).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) || echo "note: tmux not installed; tmux-driven tests will be skipped"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
