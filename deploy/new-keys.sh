#!/bin/sh
# Prints new NCO keys as environment lines (openssl only, nothing else needed):
#   NCO_KEK           key-encryption key of the module keys (security-svc; secret)
#   NCO_SIGNING_KEY   the NCO's Ed25519 command-signing key, kid:base64(PKCS#8) (services; secret)
#   DCA_TRUSTED_KEYS  its public half, kid:base64(SPKI), which every DCA pins (not secret)
#   NCO_REPORT_KEY    the NCO's X25519 report key, <kid>-report:base64(PKCS#8): devices MAC their
#                     reports under keys derived from it (orchestrator and monitor-svc; secret)
#   NCO_ENROLL_TOKEN  bootstrap token: the orchestrator's NCO_ENROLL_TOKEN and every DCA's
#                     DCA_ENROLL_TOKEN; a device proving it is enrolled at first check-in (secret)
#   FLEET_IDENTITY_SEED  the simulated fleet's device identities derive from it (secret; fleet only)
# Usage: deploy/new-keys.sh [signing key id]   (default nco-<UTC date>)
#   deploy/new-keys.sh > deploy/.env && chmod 600 deploy/.env      (Compose)
#   docs/deploy.md, "Keys", for Kubernetes.
set -eu
kid="${1:-nco-$(date -u +%Y%m%d)}"
case "$kid" in
  *[!A-Za-z0-9._-]* | "") echo "new-keys: key id must be letters, digits, . _ - (got '$kid')" >&2; exit 2 ;;
esac
der="$(mktemp)"
report="$(mktemp)"
trap 'rm -f "$der" "$report"' EXIT
openssl genpkey -algorithm ed25519 -outform DER -out "$der" 2>/dev/null
openssl genpkey -algorithm X25519 -outform DER -out "$report" 2>/dev/null
echo "NCO_KEK=$(openssl rand -base64 32)"
echo "NCO_SIGNING_KEY=$kid:$(base64 -w0 <"$der")"
echo "DCA_TRUSTED_KEYS=$kid:$(openssl pkey -inform DER -in "$der" -pubout -outform DER | base64 -w0)"
echo "NCO_REPORT_KEY=$kid-report:$(base64 -w0 <"$report")"
echo "NCO_ENROLL_TOKEN=$(openssl rand -hex 24)"
echo "FLEET_IDENTITY_SEED=$(openssl rand -hex 32)"
