#!/bin/bash
# Builds the Portcullis live ISO from the DEB, as root: a minimal Debian 12 (debootstrap, cached between builds) with
# the distribution's headless Java 17 and the DEB installed by dpkg, the appliance files in overlay/, kernel modules
# trimmed to what VMs need; the root as a squashfs, a busybox initramfs (init) that mounts it read-only under a tmpfs
# overlay, and grub-mkrescue for a hybrid BIOS + UEFI image.
# usage: build-iso.sh DEB OUT.iso [CACHE_DIR]    (CACHE_DIR default /var/cache/portcullis-iso)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "build-iso.sh: needs root (debootstrap, chroot)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
deb=$(readlink -f "$1")
out=$(readlink -m "$2")
cache=${3:-/var/cache/portcullis-iso}
suite=bookworm
include=systemd,systemd-sysv,systemd-resolved,systemd-timesyncd,dbus,udev,kmod,linux-image-amd64,openjdk-17-jre-headless,iproute2,adduser,init-system-helpers
started=$(date +%s)

# The Debian mirror the build machine uses (read from its apt sources now; never written into the repository).
mirror() {
  local m
  m=$(grep -hs -E '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
    | grep -o 'https\?://[^[:space:]]*' | grep -v -e security -e updates | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

# 1. The base system, cached by what it is made of.
key=$(echo "$suite $include 1" | sha256sum | cut -c1-16)
base=$cache/base-$key
if [ ! -f "$base.complete" ]; then
  rm -rf "$cache"/base-* # older package lists
  mkdir -p "$cache"
  echo "debootstrap $suite from $(mirror) (cached in $base)"
  debootstrap --variant=minbase --include="$include" "$suite" "$base" "$(mirror)"
  chroot "$base" apt-get clean
  rm -rf "$base"/var/lib/apt/lists/*
  touch "$base.complete"
fi

work=$(mktemp -d /tmp/portcullis-iso.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
cp -a "$base" "$root"

# 2. Our DEB, by dpkg: its scripts create the user and directories and enable the unit; the jars stay one copy.
cp "$deb" "$root/tmp/portcullis.deb"
chroot "$root" dpkg -i /tmp/portcullis.deb
rm "$root/tmp/portcullis.deb"

# 3. The appliance: its config (SSH console on 22), DHCP, the local console on tty1 and ttyS0 instead of a login.
cp -a "$here/overlay/." "$root/"
# cp -a gave /etc/portcullis the checkout's owner and mode: back to the package's (the service user writes there).
chroot "$root" chown portcullis:portcullis /etc/portcullis /etc/portcullis/portcullis.yaml
chmod 0750 "$root/etc/portcullis"
chmod 0640 "$root/etc/portcullis/portcullis.yaml"
chroot "$root" systemctl enable systemd-networkd systemd-resolved systemd-timesyncd portcullis-network.service \
  portcullis-network.path portcullis-local-console@tty1.service portcullis-local-console@ttyS0.service
chroot "$root" systemctl mask getty@tty1.service serial-getty@ttyS0.service
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
: > "$root/etc/machine-id"
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/cache/apt/* \
  "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +

# 4. Kernel modules: only those a VM needs (and what they depend on).
kver=$(ls "$root/lib/modules")
deps() { # the module files (paths inside the tree $1) that load the modules named in the files $3...
  local tree=$1 kv=$2
  shift 2
  cat "$@" | while read -r m; do modprobe -d "$tree" -S "$kv" --show-depends "$m" 2>/dev/null || true; done \
    | awk '$1 == "insmod" {print $2}' | sed "s#^$tree##" | sort -u
}
keep=$(deps "$root" "$kver" "$here/modules-boot" "$here/modules-vm")
find "$root/lib/modules/$kver/kernel" -name '*.ko*' | sed "s#^$root##" | sort | comm -23 - <(echo "$keep") \
  | sed "s#^#$root#" | xargs -r rm -f
depmod -b "$root" "$kver"
mkdir -p "$work/iso/live" "$work/iso/boot/grub"
cp "$root/boot/vmlinuz-$kver" "$work/iso/live/vmlinuz"
rm -rf "$root"/boot/* "$root"/initrd.img* "$root"/vmlinuz*

# 5. The initramfs: static busybox, init, and the modules that reach the medium and mount the root.
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/etc" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/lib/modules/$kver"
cp /bin/busybox "$ird/bin/busybox"
cp "$here/init" "$ird/init"
cp "$here/modules-boot" "$ird/etc/modules-boot"
for f in $(deps "$root" "$kver" "$here/modules-boot"); do
  mkdir -p "$ird$(dirname "$f")"
  cp "$root$f" "$ird$f"
done
cp "$root/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$ird/lib/modules/$kver/"
depmod -b "$ird" "$kver"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet | gzip -9n) > "$work/iso/live/initrd.img"

# 6. The root as a squashfs, and the hybrid ISO.
mksquashfs "$root" "$work/iso/live/root.squashfs" -comp zstd -Xcompression-level 19 -b 1M -noappend -no-progress -quiet -mkfs-time 0 -all-time 0
cp "$here/grub.cfg" "$work/iso/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
grub-mkrescue -o "$out" "$work/iso" -- -volid PORTCULLIS 2>&1 | grep -v '^xorriso : UPDATE' || true
[ -s "$out" ]
echo "built $out: $(($(stat -c %s "$out") / 1048576)) MiB in $(($(date +%s) - started)) s"
