#!/usr/bin/env bash
# fresh-check.sh — run the README's test command the way a new user does: as
# root on a bare Debian 12. Builds a minimal bookworm in a folder with
# debootstrap (--variant=minbase, plus git and ca-certificates), carries over
# only this machine's package sources and CA certificates, clones this
# repository's committed main into it and runs ./scripts/test.sh there, in a
# chroot with an empty environment. Not part of scripts/test.sh: it takes a
# while (every package is downloaded again) and needs root.
#
#   scripts/fresh-check.sh [FOLDER]   default /var/tmp/pegasus-fresh
#   FRESH_KEEP=1                      keep the folder afterwards
#   FRESH_REF=<branch or commit>      what to clone (default main)
#
# Exits with the test command's status; its output ends with the test
# command's last lines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$(realpath -m "${1:-/var/tmp/pegasus-fresh}")
REF="${FRESH_REF:-main}"

[ "$(id -u)" -eq 0 ] || { echo "fresh-check.sh: run as root" >&2; exit 1; }
case "$DEST" in / | /usr* | /etc* | /root | /home | "$ROOT"*) echo "fresh-check.sh: refusing folder $DEST" >&2; exit 1 ;; esac

if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The Debian mirror this machine's own sources name first (deb822 or one-line).
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; } |
    grep -v -- '-security' | grep '/debian/\?$' | head -n1
) || true
[ -n "$mirror" ] || { echo "fresh-check.sh: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }

mounted=()
cleanup() {
  local i m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  # And whatever else is mounted inside (debootstrap mounts its own /proc).
  for m in $(awk -v d="$DEST/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  if [ "${FRESH_KEEP:-0}" != 1 ] && [ -d "$DEST" ]; then rm -rf --one-file-system "$DEST"; fi
}
trap cleanup EXIT

rm -rf --one-file-system "$DEST"
mkdir -p "$DEST"
echo "== debootstrap bookworm (minbase) into $DEST from $mirror"
debootstrap --variant=minbase --include=git,ca-certificates bookworm "$DEST" "$mirror" >"$DEST.debootstrap.log" 2>&1 ||
  { tail -n 20 "$DEST.debootstrap.log" >&2; exit 1; }
rm -f "$DEST.debootstrap.log"

# Only the package sources and the CA certificates come from this machine.
rm -f "$DEST/etc/apt/sources.list"
rm -rf "$DEST/etc/apt/sources.list.d"
mkdir -p "$DEST/etc/apt/sources.list.d"
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$DEST/etc/apt/"
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && cp "$f" "$DEST/etc/apt/sources.list.d/"
done
if [ -d /usr/local/share/ca-certificates ]; then
  cp -r /usr/local/share/ca-certificates/. "$DEST/usr/local/share/ca-certificates/"
fi
cp /etc/resolv.conf "$DEST/etc/resolv.conf" 2>/dev/null || true

for m in proc sys dev dev/pts; do
  mkdir -p "$DEST/$m"
  case "$m" in
    proc) mount -t proc proc "$DEST/proc" ;;
    *) mount --rbind "/$m" "$DEST/$m"; mount --make-rslave "$DEST/$m" ;;
  esac
  mounted+=("$DEST/$m")
done
mkdir -p "$DEST/dev/shm"
mount -t tmpfs -o mode=1777 shm "$DEST/dev/shm"
mounted+=("$DEST/dev/shm")

in_chroot() {
  chroot "$DEST" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
in_chroot update-ca-certificates >/dev/null

echo "== clone $REF ($(git -C "$ROOT" rev-parse --short "$REF"))"
git clone --quiet --no-hardlinks --branch "$REF" "$ROOT" "$DEST/root/pegasus" 2>/dev/null ||
  { git clone --quiet --no-hardlinks "$ROOT" "$DEST/root/pegasus" &&
    git -C "$DEST/root/pegasus" checkout --quiet "$REF"; }
# The contract documents beside the repository, as on a developer's machine.
if [ -d "$ROOT/../shared" ]; then cp -r "$ROOT/../shared" "$DEST/root/shared"; fi

echo "== node, npm, gcc in the new system before the test command:" \
  "$(in_chroot sh -c 'command -v node npm gcc || true' | tr '\n' ' ')"
echo "== ./scripts/test.sh (as root, in the chroot)"
rc=0
in_chroot bash -c 'cd /root/pegasus && ./scripts/test.sh' || rc=$?
echo "== fresh-check: test command exited $rc"
exit "$rc"
