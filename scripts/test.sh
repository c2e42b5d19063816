#!/usr/bin/env bash
# The test command of README.md: lint, then every test (unit, CLI, corpus goldens).
# Installs what the tests need on a fresh machine (Rust components, tmux for the TUI test).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq tmux >/dev/null) || echo "note: tmux not installed; tmux-driven tests will be skipped"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# The core never touches the terminal: only src/tui/ may use ratatui or crossterm.
if grep -rln "ratatui\|crossterm" src --include='*.rs' | grep -v '^src/tui/'; then
  echo "ratatui/crossterm used outside src/tui/" >&2
  exit 1
fi
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
