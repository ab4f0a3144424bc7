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
trap 'rm -rf --one-file-system "$work"' EXIT
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
# Nothing for a live appliance: apt and dpkg housekeeping (no package lists are kept; the image is replaced whole),
# LVM snapshot scrubbing (no LVM). e2scrub_reap also ran a script at every boot, CPU a boot under emulation lacks.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  e2scrub_reap.service
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
: > "$root/etc/machine-id"
# Also what only builds things: javac's ct.sym, the sources of udev's hwdb.bin (which stays), and the JDK's archive
# for heaps over 32 GiB (without compressed oops; such a JVM starts without a class-data-sharing archive).
rm -f "$root"/usr/lib/jvm/*/lib/ct.sym "$root"/usr/lib/jvm/*/lib/server/classes_nocoops.jsa \
  "$root"/usr/lib/udev/hwdb.d/*.hwdb
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/cache/apt/* \
  "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +

# 3b. A class-data-sharing archive of the daemon's start, made now, so that even the first boot maps its classes
# instead of reading, parsing and verifying them from the jar: under emulation that is most of the JVM's start
# (measured, BIOS, TCG, this 2-core machine: 82-91 s to ready without it, 55-67 s with it). It is the archive
# portcullisd would make at the first clean stop, where portcullisd looks for one that the image ships
# (/usr/share/portcullis/cds, read-only, named after the jar, java and libjvm by mtime and size). mksquashfs gives
# every file the mtime 0 and the JVM refuses an archive whose jar has another mtime than at its making, so the three
# files get theirs now. The daemon runs in the chroot on free loopback ports, its own data directory and the image's
# own config, and so loads what a boot loads.
java_bin=$(chroot "$root" readlink -f /usr/bin/java) # resolved inside the image (its alternatives), not here
libjvm=$(dirname "$(dirname "$java_bin")")/lib/server/libjvm.so
jar=/usr/share/portcullis/portcullis-daemon.jar
touch -h -d @0 "$root$jar" "$root$java_bin" "$root$libjvm"
cds_key=$(chroot "$root" stat -L -c '%Y.%s' "$jar" "$java_bin" "$libjvm" | tr '\n' '-')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
a_port=$(free_port)
sed -e "s/127.0.0.1:9090/127.0.0.1:$a_port/" -e "s/0.0.0.0:3128/127.0.0.1:$(free_port)/" \
  -e "s/0.0.0.0:1344/127.0.0.1:$(free_port)/" -e "s/0.0.0.0:22/127.0.0.1:$(free_port)/" \
  -e "s/manage: true/manage: false/" -e "s/^node: { name: portcullis }/node: { name: portcullis, shutdownGrace: 1s }/" \
  "$root/etc/portcullis/portcullis.yaml" > "$root/tmp/cds.yaml"
mkdir -p "$root/usr/share/portcullis/cds"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
trap 'umount "$root/dev" "$root/proc" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT # never into /dev
archive=/usr/share/portcullis/cds/portcullis-$cds_key.jsa
chroot "$root" "$java_bin" @/usr/share/portcullis/jvm.options -XX:ArchiveClassesAtExit="$archive" -Xlog:cds*=off \
  -jar "$jar" --config /tmp/cds.yaml \
  --data-dir /tmp/cds-data --log-dir /tmp/cds-log > "$work/cds-run.log" 2>&1 &
cds_pid=$!
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$a_port/health/ready" || true)" = 200 ] && break
  kill -0 "$cds_pid" 2>/dev/null || break
  sleep 0.2
done
kill -TERM "$cds_pid" 2>/dev/null || true
wait "$cds_pid" || true
cds_ok=
if chroot "$root" "$java_bin" -XX:SharedArchiveFile="$archive" -Xshare:on -XX:+VerifySharedSpaces -Xlog:disable \
    -cp "$jar" -version > "$work/cds-check.log" 2>&1; then # (java needs /proc)
  cds_ok=yes
fi
umount "$root/dev" "$root/proc"
trap 'rm -rf --one-file-system "$work"' EXIT
rm -rf "$root/tmp/cds.yaml" "$root/tmp/cds-data" "$root/tmp/cds-log"
if [ -n "$cds_ok" ]; then
  echo "class-data-sharing archive $archive: $(($(stat -c %s "$root$archive") / 1048576)) MiB"
else
  echo "no class-data-sharing archive: $(tail -3 "$work/cds-check.log"); the daemon's run in the chroot:" >&2
  tail -5 "$work/cds-run.log" >&2
  rm -f "$root$archive"
fi

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
