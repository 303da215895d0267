#!/bin/sh
# Run stub-uefi under QEMU + OVMF.
#
#   stub-uefi/run-qemu.sh [options]
#     --port N        TCP port of the debug UART (COM2), default 45900
#     --compat        create \josgdb\compat on the ESP: josx64 compatibility mode
#     --com1          the image was built with DEBUG_PORT=0x3F8: debug UART is COM1 (shared with OVMF's console)
#     --efi FILE      the image to boot (default: stub-uefi/build/BOOTX64.EFI, built if missing)
#     --rundir DIR    where the ESP, the VARS copy and console.log go (default: a new mktemp -d)
#     --accel A       tcg (default, or $STUB_ACCEL) or kvm
#     --no-reboot     pass -no-reboot (a guest reset then ends QEMU instead of rebooting)
#     --dry-run       print the QEMU command line and exit
#
# QEMU runs in the foreground (exec), so its pid is this script's pid.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=45900
COMPAT=0
COM1=0
EFI=""
RUNDIR=""
ACCEL=""
NOREBOOT=""
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --compat) COMPAT=1; shift ;;
    --com1) COM1=1; shift ;;
    --efi) EFI=$2; shift 2 ;;
    --rundir) RUNDIR=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --no-reboot) NOREBOOT=-no-reboot; shift ;;
    --dry-run) DRY=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

if [ -z "$EFI" ]; then
  EFI="$HERE/build/BOOTX64.EFI"
  [ -f "$EFI" ] || make -C "$HERE" >&2
fi
for f in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/edk2/ovmf/OVMF_CODE.fd /usr/share/OVMF/OVMF_CODE.fd; do
  if [ -f "$f" ]; then CODE=$f; break; fi
done
VARS_SRC=$(echo "$CODE" | sed 's/OVMF_CODE/OVMF_VARS/')
[ -f "$VARS_SRC" ] || { echo "OVMF_VARS not found next to $CODE" >&2; exit 1; }

[ -n "$RUNDIR" ] || RUNDIR=$(mktemp -d /tmp/stub-uefi-run.XXXXXX)
mkdir -p "$RUNDIR/esp/EFI/BOOT"
cp "$EFI" "$RUNDIR/esp/EFI/BOOT/BOOTX64.EFI"
rm -rf "$RUNDIR/esp/josgdb"
if [ "$COMPAT" = 1 ]; then
  mkdir -p "$RUNDIR/esp/josgdb"
  echo "josx64 compatibility mode" > "$RUNDIR/esp/josgdb/compat"
fi
cp "$VARS_SRC" "$RUNDIR/vars.fd"

[ -n "$ACCEL" ] || ACCEL=${STUB_ACCEL:-tcg}   # tcg: KVM is not usable on every host (nested virt)
DEBUG_SERIAL="tcp:127.0.0.1:$PORT,server=on,wait=off,nodelay=on"
if [ "$COM1" = 1 ]; then
  SERIALS="-serial $DEBUG_SERIAL"
else
  SERIALS="-serial file:$RUNDIR/console.log -serial $DEBUG_SERIAL"
fi

set -- qemu-system-x86_64 -machine q35 -accel "$ACCEL" -m 512 \
  -drive if=pflash,format=raw,readonly=on,file="$CODE" \
  -drive if=pflash,format=raw,file="$RUNDIR/vars.fd" \
  -drive format=raw,file=fat:rw:"$RUNDIR/esp" \
  $SERIALS -display none -monitor none -net none $NOREBOOT
if [ "$DRY" = 1 ]; then echo "$@"; exit 0; fi
echo "stub-uefi: rundir $RUNDIR, debug UART tcp 127.0.0.1:$PORT, accel $ACCEL" >&2
exec "$@"
