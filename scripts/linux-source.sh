# Sourced by the scripts that build Debian's linux-source-6.1 (kunit.sh,
# debug-kernel.sh): the one place that knows where the source package
# puts its tarball and how it unpacks.
#
#   linux_source_version     the installed package's version, e.g. 6.1.192-3
#   linux_source_unpack TREE unpack the tarball so that TREE/Makefile exists
#
# The caller defines die().
LINUX_SOURCE_PKG=linux-source-6.1
LINUX_SOURCE_TARBALL=/usr/src/linux-source-6.1.tar.xz

linux_source_version() {
	dpkg-query -W -f='${Version}' "$LINUX_SOURCE_PKG" 2>/dev/null ||
		die "$LINUX_SOURCE_PKG is not installed (scripts/install-deps.sh)"
}

linux_source_unpack() {
	local tree=$1
	[ -f "$LINUX_SOURCE_TARBALL" ] ||
		die "$LINUX_SOURCE_TARBALL is missing (apt-get install $LINUX_SOURCE_PKG)"
	mkdir -p "$tree"
	# the tarball's top directory is linux-source-6.1/: TREE takes its place
	tar -xf "$LINUX_SOURCE_TARBALL" -C "$tree" --strip-components=1
	[ -f "$tree/Makefile" ] || die "$LINUX_SOURCE_TARBALL did not unpack to $tree"
}
