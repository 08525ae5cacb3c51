#!/usr/bin/env bash
# demo.sh — create the demo users and team when the system has no users yet,
# through pegasusctl (so through the running auth service). With --print,
# print the demo logins. The passwords are fixed, public demo values.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTL="${PEGASUSCTL:-$ROOT/build/bin/pegasusctl}"
PASSWORD="pegasus-demo"

if [ "${1:-}" = --print ]; then
  cat <<TXT
Demo logins (password for all: $PASSWORD):
  alice@example.com   Pro plan; owner of the Ultra team "Acme"
  bob@example.com     Free plan; member of "Acme"
  carol@example.com   Pro plan; viewer in "Acme"
TXT
  exit 0
fi

if "$CTL" user list --json | grep -q '"email"'; then
  exit 0
fi
for u in "alice@example.com:Alice Adams:pro" "bob@example.com:Bob Brown:free" "carol@example.com:Carol Chen:pro"; do
  IFS=: read -r email name plan <<<"$u"
  printf '%s\n' "$PASSWORD" | "$CTL" user add --email "$email" --name "$name" --password-stdin >/dev/null
  "$CTL" plan set --email "$email" --plan "$plan" >/dev/null
done
"$CTL" team add --name Acme --owner alice@example.com --plan ultra --seats 5 >/dev/null
"$CTL" team member add --team Acme --email bob@example.com --role member >/dev/null
"$CTL" team member add --team Acme --email carol@example.com --role viewer >/dev/null
