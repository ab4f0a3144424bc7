#!/bin/bash
# Builds the OCI image's root filesystem, apart from the jars (Jib adds those from the modules' target/ as built):
# a jlink'd Java runtime, the glibc and zlib libraries it links against taken from this Debian machine's packages
# (the registry for base images is not reachable here, so the image is FROM scratch), /etc/passwd and /etc/group with
# the image's user, the default config, the JVM options, and the empty data and log dirs.
# usage: build-root.sh OUT_DIR PACKAGING_DIR UID
set -euo pipefail
out=$1
packaging=$2
uid=$3
jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}

rm -rf "$out"
mkdir -p "$out"
# Jib reads the module's classes dir even when the image keeps none of it: this module has no code.
mkdir -p "$(dirname "$out")/classes"
# Modules: what the daemon and console use, including those only reached by reflection or ServiceLoader
# (jdk.crypto.ec for the SSH console's keys, jdk.management for the JVM metrics, java.naming for logback,
# java.security.jgss and jdk.security.auth for Kerberos single sign-on: GSS-API and the keytab login module).
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.naming.dns,jdk.security.auth,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-man-pages --no-header-files --compress=2 --output "$out/opt/java"
# Debian's JDK links its legal notices to one copy: the image gets the files themselves.
find "$out/opt/java/legal" -type l | while read -r l; do cp --remove-destination "$(readlink -f "$l")" "$l"; done
# jlink copies the JDK's own files with their build times: one fixed time keeps the image reproducible.
find "$out/opt/java" -exec touch -h -d @0 {} +

# The shared libraries the runtime needs, resolved by the dynamic loader of this machine (Debian's libc6, zlib1g).
libs=$(find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} + 2>/dev/null \
  | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | grep -v "^$out/" | sort -u)
# Netty's epoll transport, unpacked at run time, also links glibc's libdl, libpthread and librt (stubs in glibc 2.34+).
libc=$(echo "$libs" | grep '/libc\.so\.6$')
for extra in libdl.so.2 libpthread.so.0 librt.so.1; do
  libs="$libs $(dirname "$libc")/$extra"
done
for lib in $libs; do
  real=$(readlink -f "$lib")
  mkdir -p "$out$(dirname "$lib")"
  cp "$real" "$out$lib"
done
# The loader at the path the ELF interpreter names, also where a /lib64 -> /usr/lib64 layout expects it.
loader=$(find "$out" -name 'ld-linux-x86-64.so.2' -print -quit)
if [ -n "$loader" ] && [ "${loader#"$out"}" != /lib64/ld-linux-x86-64.so.2 ]; then
  mkdir -p "$out/lib64"
  cp "$loader" "$out/lib64/ld-linux-x86-64.so.2"
fi

mkdir -p "$out/etc/portcullis" "$out/var/lib/portcullis" "$out/var/log/portcullis" "$out/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nportcullis:x:%s:%s:Portcullis:/var/lib/portcullis:/sbin/nologin\n' \
  "$uid" "$uid" > "$out/etc/passwd"
printf 'root:x:0:\nportcullis:x:%s:\n' "$uid" > "$out/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$out/etc/hosts"
cp "$packaging/etc/portcullis.yaml" "$out/etc/portcullis/portcullis.yaml"
cp "$packaging/etc/tls-exclusions.txt" "$out/etc/portcullis/tls-exclusions.txt"
mkdir -p "$out/usr/share/portcullis"
cp "$packaging/share/jvm.options" "$out/usr/share/portcullis/jvm.options" # the entrypoint's java @FILE
find "$out" -exec touch -h -d @0 {} +
