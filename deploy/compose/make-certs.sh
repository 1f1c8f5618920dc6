#!/usr/bin/env bash
# Makes the compose stack's TLS material once, with the host's openssl: a private CA and one
# server certificate for the gateway, the query service and the dashboard (each by its compose
# service name and localhost). For a local stack only: a real deployment's certificates come from
# the platform's CA.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)/certs
mkdir -p "$dir"
cd "$dir"
if [ -f server.pem ]; then
    echo "certs: already made in $dir"
    exit 0
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=rollcall local CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=rollcall" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:gateway,DNS:query,DNS:web,DNS:localhost,IP:127.0.0.1\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
    -extfile san.ext -out server.pem 2>/dev/null
rm -f server.csr san.ext ca.srl
# The services run as uid 10001 in the image.
chmod 644 ca.pem server.pem server.key
echo "certs: made in $dir"
