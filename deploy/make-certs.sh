#!/usr/bin/env bash
# Makes a cluster CA and node certificates for rumor's control-link TLS (openssl CLI), for local
# and test clusters; production can use its own PKI (deploy/OPERATIONS.md, "Control-link TLS").
#   make-certs.sh [--days N] [--force] DIR ID...
# DIR/ca.crt + ca.key (made once, kept on later runs), DIR/node-<id>.crt + .key per ID: EC P-256,
# subject CN=rumor-node-<id> and URI SAN rumor://node/<id> (the id rumor-cp authenticates),
# usable as TLS server and client. Existing node files are kept unless --force (re-issue: the
# rotation of one node's certificate). Keys are mode 0600.
set -euo pipefail
days=825 force=0
while [[ ${1:-} == --* ]]; do
	case $1 in
	--days) days=$2; shift 2 ;;
	--force) force=1; shift ;;
	*) echo "make-certs.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
(($# >= 1)) || { echo "usage: make-certs.sh [--days N] [--force] DIR ID..." >&2; exit 2; }
dir=$1; shift
mkdir -p "$dir"
umask 077
if [[ ! -s $dir/ca.crt || ! -s $dir/ca.key ]]; then
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days" \
		-subj "/O=rumor/CN=rumor cluster CA $(date -u +%Y%m%dT%H%M%SZ)-$RANDOM" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt" 2>/dev/null
fi
for id in "$@"; do
	[[ $id =~ ^[1-9][0-9]*$ ]] || { echo "make-certs.sh: bad node id '$id'" >&2; exit 2; }
	crt=$dir/node-$id.crt key=$dir/node-$id.key
	[[ $force == 0 && -s $crt && -s $key ]] && continue
	ext=$(mktemp)
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=URI:rumor://node/$id" >"$ext"
	openssl ecparam -name prime256v1 -genkey -noout -out "$key.tmp" 2>/dev/null
	openssl req -new -key "$key.tmp" -subj "/O=rumor/CN=rumor-node-$id" 2>/dev/null |
		openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -sha256 \
			-days "$days" -extfile "$ext" -out "$crt.tmp" 2>/dev/null
	rm -f "$ext"
	mv "$key.tmp" "$key"
	mv "$crt.tmp" "$crt"
done
chmod 0644 "$dir/ca.crt" "$dir"/node-*.crt 2>/dev/null || true
