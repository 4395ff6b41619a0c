#!/usr/bin/env bash
# make pi-check: the README's Raspberry Pi steps, for real, in an arm64 Debian bookworm root run
# under qemu-user (binfmt_misc), with no network. Needs root, debootstrap and qemu-user-static
# (.ci/run installs them). The root is made once from this machine's Debian mirror and cached in
# build/pi-check/; every run copies it afresh, so a second run takes minutes, not the first's.
#
# On the host (with network): import a festival, `provision --bundle` a card (pip download of the
# aarch64 wheels). In the root (chroot inside `unshare -n`, only loopback): useradd, install.sh,
# a second run (nothing to do), a re-provisioned card (same key), a newer bundle with a truncated
# wheel (the old venv stays, the reason is recorded), and one `pandascreen --once` syncing over
# iroh from a `pandascreen-host serve` in the same namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=build/pi-check
ROOTFS=$CACHE/rootfs-bookworm-arm64
WORK=$CACHE/work
R=$WORK/root
BOOT=$R/boot/firmware
CARD=$BOOT/pandascreen
VENV=.venv
HOST=$VENV/bin/pandascreen-host
PY=$VENV/bin/python
BOARD=pi-zero-2w-ssd1306
PORT=4455
STEP_TIMEOUT=1800   # seconds: one step under qemu (pip in the root is the slowest)

step() { echo "pi-check [$(date -u +%H:%M:%S)] $*"; }
fail() { echo "pi-check: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, unshare): sudo make pi-check"
for c in debootstrap unshare chroot ip timeout; do
  command -v "$c" >/dev/null || fail "$c is missing: apt-get install debootstrap qemu-user-static iproute2"
done
[ -x "$HOST" ] || fail "$HOST is missing: make test (or pip install -e '.[dev]') first"

# arm64 binaries run through qemu-aarch64 (binfmt_misc, registered by qemu-user-static's package)
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  command -v update-binfmts >/dev/null && update-binfmts --enable qemu-aarch64 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || fail "qemu-aarch64 is not registered in binfmt_misc (apt-get install qemu-user-static)"
fi

# the Debian mirror this machine's apt uses (deb822 URIs: or one-line deb), not the security one
mirror=$(awk '$1=="URIs:"{print $2} $1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; break}}' \
           /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v -- '-security' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

if [ ! -f "$ROOTFS/.pi-check-ready" ]; then
  step "debootstrap arm64 bookworm from $mirror into $ROOTFS (once; cached)"
  mkdir -p "$CACHE"
  rm -rf "$ROOTFS.tmp"
  timeout 3600 debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv \
    bookworm "$ROOTFS.tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  touch "$ROOTFS.tmp/.pi-check-ready"
  mv "$ROOTFS.tmp" "$ROOTFS"
fi
step "fresh copy of the cached root in $R"
rm -rf "$WORK"
mkdir -p "$WORK"
cp -a "$ROOTFS" "$R"
mkdir -p "$BOOT"
printf 'console=tty1 root=PARTUUID=1-02 rootwait quiet\n' >"$BOOT/cmdline.txt"   # a card that booted before
printf 'dtparam=audio=on\n' >"$BOOT/config.txt"

# a command in the root, offline: its own network namespace (loopback only) and a clean environment
pi() {
  timeout "$STEP_TIMEOUT" unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
pi_json() {  # pi_json FILE EXPR: a value of a JSON file in the root, read on the host
  "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$R$1" "$2"
}

step "host: import a festival (organiser key, store)"
"$HOST" import tests/fixtures/frab_fahrplan_tz.xml --store "$WORK/festival.db" --key "$WORK/organiser.key" \
  >"$WORK/import.log"
org=$(sed -n 's/^organiser public key: //p' "$WORK/import.log")
fid=$(sed -n 's/^festival id: //p' "$WORK/import.log")
[ -n "$org" ] && [ -n "$fid" ] || fail "import printed no organiser key / festival id"

provision() {
  "$HOST" provision --board "$BOARD" --boot "$BOOT" --festival-id "$fid" --organiser "$org" \
    --peer "$org@127.0.0.1:$PORT" --bundle --os bookworm --bundle-cache "$CACHE/wheels" "$@"
}
step "host: provision --bundle (aarch64 wheels for Python 3.11 from PyPI, cached in $CACHE/wheels)"
provision >"$WORK/provision1.log"
pub=$(sed -n 's/^device public key: //p' "$WORK/provision1.log")
nwheels=$(pi_json /boot/firmware/pandascreen/bundle/MANIFEST.json 'len(d["pythons"]["3.11"])')
step "bundle: $nwheels wheels, device public key $pub"

step "pi: groupadd + useradd (README), offline"
for g in gpio i2c spi; do pi groupadd --system -f "$g"; done
pi useradd --system --groups gpio,i2c,spi,video pandascreen

step "pi: sh /boot/firmware/pandascreen/bundle/install.sh (offline, pip under qemu: minutes)"
pi sh /boot/firmware/pandascreen/bundle/install.sh >"$WORK/install1.log" 2>&1 \
  || { tail -n 20 "$WORK/install1.log" >&2; fail "install.sh failed (log: $WORK/install1.log)"; }
[ ! -e "$CARD/device.key" ] || fail "device.key is still on the boot partition"
[ "$(stat -c %a "$R/var/lib/pandascreen/device.key")" = 600 ] || fail "installed device.key is not mode 600"
[ -x "$R/opt/pandascreen/venv/bin/pandascreen" ] || fail "no /opt/pandascreen/venv/bin/pandascreen"
step "pi: every native module of the venv imports under qemu"
pi /opt/pandascreen/venv/bin/python -c '
import importlib
for m in ("iroh", "nacl.bindings", "blake3", "PIL._imaging", "zeroconf", "cbor2", "cffi", "luma.oled.device",
          "gpiozero", "gpiod._ext", "pandascreen.node.gpiod_pins", "pandascreen.node.app",
          "pandascreen.node.iroh_transport"):
    importlib.import_module(m)
print("imported", m)' || fail "a module of the venv does not import"

step "pi: the unit's pre-start again: nothing to do"
pi /opt/pandascreen/venv/bin/pandascreen-install --boot /boot/firmware --keep-running >"$WORK/install2.log" 2>&1 \
  || { cat "$WORK/install2.log" >&2; fail "second run failed"; }
grep -q "nothing to do" "$WORK/install2.log" || { cat "$WORK/install2.log" >&2; fail "second run did something"; }

step "host: re-provision the card (another peer, --bundle again, no --key): the screen keeps its key"
provision --peer 127.0.0.1:2026 >"$WORK/provision2.log"
[ ! -e "$CARD/device.key" ] || fail "re-provisioning wrote a new device.key on the card"
[ "$(pi_json /boot/firmware/pandascreen/config.json 'd["device_public_key"]')" = "$pub" ] \
  || fail "re-provisioning changed device_public_key"
pi /opt/pandascreen/venv/bin/pandascreen-install --boot /boot/firmware --keep-running >"$WORK/install3.log" 2>&1 \
  || { cat "$WORK/install3.log" >&2; fail "pre-start after re-provisioning failed"; }
[ ! -e "$R/var/lib/pandascreen/upgrade-refused" ] || fail "a refusal was recorded after re-provisioning"
[ "$(pi_json /etc/pandascreen/config.json 'len(d["peers"])')" = 2 ] || fail "the new config was not installed"
mark=$(cat "$R/opt/pandascreen/venv/pandascreen-bundle.json")   # the bundle installed now (a rebuilt wheel)

step "host: a newer bundle whose pandascreen wheel arrives truncated on the card"
"$PY" - "$CARD/bundle" <<'EOF'
import hashlib, json, os, sys, zipfile
bundle = sys.argv[1]
manifest_path = os.path.join(bundle, "MANIFEST.json")
manifest = json.load(open(manifest_path))
(entry,) = [e for e in manifest["pythons"]["3.11"] if e["name"].startswith("pandascreen-")]
path = os.path.join(bundle, "py3.11", entry["name"])
with zipfile.ZipFile(path, "a") as z:          # a rebuild: other bytes, same wheel
    z.comment = b"pi-check rebuild"
data = open(path, "rb").read()
entry["sha256"] = hashlib.sha256(data).hexdigest()
with open(manifest_path, "w") as fh:
    json.dump(manifest, fh)
with open(path, "r+b") as fh:                  # the copy to the card stopped half way
    fh.truncate(len(data) // 2)
EOF
pi /opt/pandascreen/venv/bin/pandascreen-install --boot /boot/firmware --keep-running >"$WORK/install4.log" 2>&1 \
  || { cat "$WORK/install4.log" >&2; fail "the pre-start step failed: the screen would stay dark"; }
grep -q sha256 "$R/var/lib/pandascreen/upgrade-refused" || fail "no reason in /var/lib/pandascreen/upgrade-refused"
[ "$(cat "$R/opt/pandascreen/venv/pandascreen-bundle.json")" = "$mark" ] || fail "the venv changed"
pi /opt/pandascreen/venv/bin/python -c 'import pandascreen.node.app' || fail "the old venv no longer works"
step "refused and recorded: $(cat "$R/var/lib/pandascreen/upgrade-refused" | cut -c1-100)..."

step "pi: pandascreen --once syncs over iroh from pandascreen-host serve (one namespace, loopback)"
cat >"$WORK/sync.sh" <<EOF
set -eu
ip link set lo up
"$HOST" serve --store "$WORK/festival.db" --key "$WORK/organiser.key" --listen 127.0.0.1:$PORT >"$WORK/serve.log" 2>&1 &
serve=\$!
trap 'kill \$serve 2>/dev/null; wait \$serve 2>/dev/null || true' EXIT
n=0
until grep -q "listening: node" "$WORK/serve.log"; do
  n=\$((n + 1)); [ \$n -le 120 ] || { cat "$WORK/serve.log" >&2; exit 1; }; sleep 0.5
done
chroot --userspec=pandascreen:pandascreen "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/pandascreen \
  LANG=C.UTF-8 /opt/pandascreen/venv/bin/pandascreen --config /etc/pandascreen/config.json --once \
  --emulate /var/lib/pandascreen/screen.png
EOF
timeout "$STEP_TIMEOUT" unshare -n sh "$WORK/sync.sh" >"$WORK/sync.log" 2>&1 \
  || { tail -n 20 "$WORK/sync.log" >&2; fail "pandascreen --once failed (log: $WORK/sync.log)"; }
grep -q "^upgrade refused: " "$WORK/sync.log" || fail "the screen did not show why the upgrade was refused"
counts=$("$PY" - "$WORK/festival.db" "$R/var/lib/pandascreen/festival.db" <<'EOF'
import sys
from pandascreen.node.sqlite_store import SqliteStore
print(" ".join(str(SqliteStore(p).count()) for p in sys.argv[1:]))
EOF
)
read -r organiser screen <<<"$counts"
[ "$screen" -gt 0 ] && [ "$screen" = "$organiser" ] || fail "the screen holds $screen of $organiser operations"
step "synced $screen of $organiser operations over iroh; screen drawn to /var/lib/pandascreen/screen.png"
step "OK"
