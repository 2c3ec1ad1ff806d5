#!/usr/bin/env bash
# The JS client as a package: `npm pack` builds the tarball, which installs into a fresh
# project with no network (the package has no dependencies), imports in Node by its name
# (ESM), type-checks a TypeScript file against its .d.ts (typescript), and bundles for the
# browser (esbuild, platform browser: a Node built-in anywhere in it fails the bundle).
#
#   bash clients/js/test/pack/run.sh      (after `npm ci` in clients/js)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
js="$(cd "$here/../.." && pwd)"
bin="$js/node_modules/.bin"
for tool in tsc esbuild; do
  if [ ! -x "$bin/$tool" ]; then
    echo "pack test: $bin/$tool is missing: run \`npm ci\` in clients/js" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. Pack: the tarball holds what package.json's `files` says, and nothing of the tests.
(cd "$js" && npm pack --silent --pack-destination "$work" >"$work/pack-name")
tarball="$work/$(tail -n 1 "$work/pack-name")"
[ -f "$tarball" ] || { echo "pack test: npm pack made no tarball" >&2; exit 1; }
listing="$(tar -tzf "$tarball" | sort)"
for f in package/package.json package/README.md package/index.d.ts package/react.d.ts \
  package/src/index.js package/src/react.js; do
  grep -qx "$f" <<<"$listing" || { echo "pack test: $f is not in the tarball" >&2; exit 1; }
done
if grep -q '^package/test/\|^package/node_modules/' <<<"$listing"; then
  echo "pack test: the tarball carries tests or node_modules:" >&2
  echo "$listing" >&2
  exit 1
fi

# 2. Install into a fresh project, offline: nothing may need the registry.
app="$work/app"
mkdir -p "$app"
cp "$here/app/package.json" "$here/app/tsconfig.json" "$here/app/"*.mjs "$here/app/"*.ts "$app/"
(cd "$app" && npm install --offline --no-audit --no-fund --loglevel=error "$tarball" >/dev/null)
[ -f "$app/node_modules/socket-serve-client/package.json" ] || {
  echo "pack test: socket-serve-client is not installed" >&2
  exit 1
}
if [ -d "$app/node_modules/react" ]; then
  echo "pack test: the optional peer dependency react was installed" >&2
  exit 1
fi

# 3. Node imports it by its name (ESM), and it works against nothing at all.
(cd "$app" && node node-import.mjs)

# 4. TypeScript sees its types (strict, Node's and a bundler's module resolution).
(cd "$app" && "$bin/tsc" -p tsconfig.json)
(cd "$app" && "$bin/tsc" -p tsconfig.json --module esnext --moduleResolution bundler)

# 5. A browser bundle: no Node built-ins (esbuild fails on one with --platform=browser).
(cd "$app" && "$bin/esbuild" browser-entry.mjs --bundle --platform=browser --format=esm \
  --log-level=warning --outfile="$work/bundle.js")
if grep -q 'node:' "$work/bundle.js"; then
  echo "pack test: the browser bundle mentions node: modules" >&2
  exit 1
fi
(cd "$app" && node --input-type=module -e "
  const m = await import('$work/bundle.js');
  if (typeof m.start !== 'function') throw new Error('the bundle does not export start');
")
echo "pack test: $(basename "$tarball") packs, installs offline, imports in Node, type-checks, bundles for the browser"
