#!/usr/bin/env bash
# Refreshes the vendored GraphiQL assets from npm (run by hand; never by the
# build, which needs no network). Change the versions, run it, check the page
# (the browser test in .ci/browser does), and commit the files with the new
# versions in api/src/http/graphiql.rs and README.md here.
set -euo pipefail
GRAPHIQL=4.1.2
REACT=18.3.1
GRAPHQL_WS=5.16.2
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql-ws@$GRAPHQL_WS" >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "graphiql-$GRAPHIQL/package/graphiql.min.css" "$HERE/"
cp "react-$REACT/package/umd/react.production.min.js" "$HERE/"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$HERE/"
cp "graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js" "$HERE/"
(cd "$HERE" && sha256sum ./*.min.js ./*.min.css)
