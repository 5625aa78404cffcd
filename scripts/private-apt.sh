# Sourced: an apt that reads only our own list of sources, under a
# directory of the build, so fetching a source package or a package from
# another suite changes nothing in the system's apt configuration.
#
#   private_apt DIR "LINE..."   set up DIR with these sources.list lines and
#                               run apt-get update; fills APT_OPTS for
#                               apt-get/apt-cache calls
#   debian_mirror               the mirror the system's own sources use

debian_mirror() {
	local uri
	uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	echo "${uri:-http://deb.debian.org/debian}"
}

private_apt() {
	local dir=$1
	shift
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	dir=$(cd "$dir" && pwd)
	printf '%s\n' "$@" >"$dir/sources.list"
	APT_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list"
		  -o "Dir::Etc::SourceParts=/nonexistent"
		  -o "Dir::State::Lists=$dir/lists"
		  -o "Dir::Cache=$dir/cache"
		  -o "APT::Sandbox::User=root" -qq)
	apt-get "${APT_OPTS[@]}" update >/dev/null
}
