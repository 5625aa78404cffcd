#!/bin/bash
# The Debian packages (debian/, make deb): they build from a clean copy of
# the tree, with the unit tests; lintian finds no error and no warning;
# each package holds what it should; the versions agree; the unit file
# passes systemd-analyze; librmem-dev's pkg-config file builds and links a
# program against the packaged library; and rmem-dkms's source, with its
# dkms.conf, builds rmem.ko with DKMS against this host's kernel headers.
# Booting the packages under systemd is tests/vm/packages.sh.
. "$(dirname "$0")/lib.sh"
requires dpkg-buildpackage
requires lintian
requires dkms

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
arch=$(dpkg --print-architecture)
make --no-print-directory BUILD="$TMP/b" deb >"$TMP/build.log" 2>&1 ||
	fail "make deb: $(tail -n 30 "$TMP/build.log")"
out=$TMP/b/deb
grep -q '^\[  PASSED  \]' "$TMP/build.log" ||
	fail "the package build ran no unit tests"

# one version: dkms.conf's, in the changelog, the packages and the programs
[ "$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$version" ] ||
	fail "debian/changelog's version is not dkms.conf's $version"
for p in rmem-poold rmemctl librmem0 librmem-dev; do
	[ -f "$out/${p}_${version}_$arch.deb" ] || fail "no $p package: $(ls "$out")"
done
[ -f "$out/rmem-dkms_${version}_all.deb" ] || fail "no rmem-dkms package"
[ -f "$out/rmem_${version}.tar.xz" ] || fail "no source package"

lintian --pedantic "$out/rmem_${version}_${arch}.changes" >"$TMP/lintian" 2>&1
grep -E '^[EW]: ' "$TMP/lintian" && fail "lintian: $(cat "$TMP/lintian")"

root=$TMP/root
for d in "$out"/*.deb; do
	case $d in *-dbgsym_*) continue ;; esac
	dpkg-deb -x "$d" "$root" || fail "dpkg-deb -x $d"
done
contents() { dpkg-deb -c "$out/$1" | awk '{print $6}'; }
contents "rmem-poold_${version}_$arch.deb" >"$TMP/poold.files"
for f in ./usr/sbin/rmem-poold ./lib/systemd/system/rmem-poold.service \
	 ./etc/rmem/rmem-poold.conf ./usr/share/man/man8/rmem-poold.8.gz; do
	expect_in "$TMP/poold.files" "$f"
done
dpkg-deb -e "$out/rmem-poold_${version}_$arch.deb" "$TMP/poold.ctl"
expect_in "$TMP/poold.ctl/conffiles" /etc/rmem/rmem-poold.conf
# enabled at install; started when the key exists (ConditionPathExists);
# never stopped or restarted by an upgrade, which would lose what it lent
expect_in "$TMP/poold.ctl/postinst" "deb-systemd-helper enable 'rmem-poold.service'"
grep -q restart "$TMP/poold.ctl/postinst" &&
	fail "rmem-poold's postinst restarts it: $(grep restart "$TMP/poold.ctl/postinst")"
grep -q "deb-systemd-invoke stop" "$TMP/poold.ctl/prerm" 2>/dev/null &&
	grep -B3 "deb-systemd-invoke stop" "$TMP/poold.ctl/prerm" | grep -q upgrade &&
	fail "rmem-poold's prerm stops it on upgrade"
expect_in "$root/lib/systemd/system/rmem-poold.service" "ConditionPathExists=/etc/rmem/key"
contents "rmemctl_${version}_$arch.deb" >"$TMP/rmemctl.files"
for f in ./usr/sbin/rmemctl ./lib/systemd/system/rmem@.service \
	 ./lib/systemd/system-generators/rmem-generator ./etc/rmem/rmemtab \
	 ./usr/share/man/man5/rmemtab.5.gz ./usr/share/man/man8/rmemctl.8.gz; do
	expect_in "$TMP/rmemctl.files" "$f"
done
dpkg-deb -e "$out/rmemctl_${version}_$arch.deb" "$TMP/rmemctl.ctl"
expect_in "$TMP/rmemctl.ctl/conffiles" /etc/rmem/rmemtab
[ -x "$root/lib/systemd/system-generators/rmem-generator" ] ||
	fail "rmem-generator is not executable"
# the packaged table has only comments: rmemctl tab lists nothing
"$root/usr/sbin/rmemctl" tab "$root/etc/rmem/rmemtab" >"$TMP/tab" 2>&1 ||
	fail "rmemctl tab of the packaged rmemtab: $(cat "$TMP/tab")"
[ -s "$TMP/tab" ] && fail "the packaged rmemtab names devices: $(cat "$TMP/tab")"
contents "rmem-dkms_${version}_all.deb" >"$TMP/dkms.files"
expect_in "$TMP/dkms.files" "./usr/src/rmem-$version/dkms.conf"
contents "librmem0_${version}_$arch.deb" | grep -v '^./usr/share/doc' |
	grep -q 'dkms\|include' && fail "librmem0 holds more than the library"

"$root/usr/sbin/rmem-poold" -V >"$TMP/v" || fail "packaged rmem-poold -V"
expect_in "$TMP/v" "rmem-poold $version,"
"$root/usr/sbin/rmemctl" -V >"$TMP/v" || fail "packaged rmemctl -V"
expect_in "$TMP/v" "rmemctl $version,"
for m in man8/rmem-poold.8 man8/rmemctl.8 man5/rmemtab.5; do
	zcat "$root/usr/share/man/$m.gz" | head -n 1 | grep -qF "\"rmem $version\"" ||
		fail "$m does not say rmem $version"
done
# the packaged configuration is the example, and valid but for the key
expect_exit 2 "$root/usr/sbin/rmem-poold" -t -c "$root/etc/rmem/rmem-poold.conf"
expect_in "$TMP/err" "/etc/rmem/key"

# the units, with their paths moved to the packaged binaries
mkdir "$TMP/unit"
for u in rmem-poold.service rmem@.service; do
	sed "s|/usr/sbin/|$root/usr/sbin/|g" "$root/lib/systemd/system/$u" >"$TMP/unit/$u"
done
(cd "$TMP/unit" && SYSTEMD_UNIT_PATH=$TMP/unit: systemd-analyze verify --man=no \
	rmem-poold.service rmem@rmem0.service) >"$TMP/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ -s "$TMP/verify" ] && fail "systemd-analyze verify: $(cat "$TMP/verify")"

# a program built from librmem-dev alone, run against librmem0, pings a
# donor
cat >"$TMP/prog.c" <<-'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <librmem.h>
int main(int argc, char **argv)
{
	struct rmem_client_opts o = {
		.host = "127.0.0.1", .port = atoi(argv[1]), .key_file = argv[2],
	};
	struct rmem_client *c = rmem_client_new();
	uint64_t rtt;

	if (argc != 3 || !c || rmem_connect(c, &o) || rmem_ping(c, &rtt)) {
		fprintf(stderr, "%s\n", c ? rmem_errmsg(c) : "usage or memory");
		return 1;
	}
	printf("protocol %u\n", rmem_donor(c)->version);
	rmem_client_free(c);
	return 0;
}
EOF
pcdir=$(dirname "$(find "$root" -name librmem.pc)")
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$pcdir \
	pkg-config --cflags --libs librmem >"$TMP/pc" || fail "pkg-config librmem"
PKG_CONFIG_PATH=$pcdir pkg-config --static --libs librmem | grep -q -- "-lcrypto.*-lxxhash" ||
	fail "pkg-config --static librmem lacks -lcrypto and -lxxhash"
[ "$(PKG_CONFIG_PATH=$pcdir pkg-config --modversion librmem)" = "$version" ] ||
	fail "librmem.pc's version is not $version"
# shellcheck disable=SC2046
cc -o "$TMP/prog" "$TMP/prog.c" $(cat "$TMP/pc") 2>"$TMP/cc" ||
	fail "a program with librmem-dev's flags: $(cat "$TMP/cc")"
ldd "$TMP/prog" | grep -q "librmem.so.0 => not found" ||
	fail "the program is not linked to librmem.so.0: $(ldd "$TMP/prog")"
make_config
start_donor "$root/usr/sbin/rmem-poold"
LD_LIBRARY_PATH=$(dirname "$(find "$root" -name librmem.so.0)") \
	"$TMP/prog" "$PORT" "$TMP/key" >"$TMP/prog.out" 2>&1 ||
	fail "the program against librmem0: $(cat "$TMP/prog.out")"
expect_in "$TMP/prog.out" "protocol "
stop_donor

# DKMS: the packaged source and dkms.conf build rmem.ko for this host's
# headers, in a private tree (nothing installed)
kver=$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | head -n 1)
[ -n "$kver" ] || fail "no kernel headers in /usr/src"
mkdir -p "$TMP/dkms"
dkms build --dkmstree "$TMP/dkms" --sourcetree "$root/usr/src" \
	-k "$kver" "rmem/$version" >"$TMP/dkms.log" 2>&1 ||
	fail "dkms build: $(tail -n 20 "$TMP/dkms.log")"
ko=$(find "$TMP/dkms" -name 'rmem.ko*' | head -n 1)
[ -n "$ko" ] || fail "dkms built no rmem.ko: $(cat "$TMP/dkms.log")"
modinfo -F vermagic "$ko" | grep -q "^$kver " ||
	fail "rmem.ko is not for $kver: $(modinfo -F vermagic "$ko")"
echo PASS
