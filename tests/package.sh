#!/usr/bin/env bash
# The Debian package end to end (suite 'package'): dpkg-buildpackage -b in a copy of the tree,
# lintian without errors, then apt-get install of the .debs into a fresh Debian 12 root
# (debootstrap, cached) where the binaries, the user, the units and the config must be there.
# Usage (root): bash tests/package.sh [SOURCE_ROOT]   (exit 77: skipped, not root or no tools)
# Env: RUMOR_TEST_CACHE (default /var/cache/rumor-test), RUMOR_PKG_KEEP=1 keeps the work dir,
#      RUMOR_PKG_ONLY="PATH..." builds HEAD plus only these working-tree paths.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cache=${RUMOR_TEST_CACHE:-/var/cache/rumor-test}
suite=bookworm
t0=$(date +%s)

say() { printf '[package %4ds] %s\n' $(($(date +%s) - t0)) "$*"; }
fail() { say "FAIL: $*"; exit 1; }

if ((EUID != 0)); then
	echo "package: needs root (debootstrap, chroot); skipped"
	exit 77
fi
for tool in dpkg-buildpackage dh lintian debootstrap git; do
	command -v "$tool" >/dev/null || { echo "package: $tool missing (deploy/setup-host.sh); skipped"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rumor-package.XXXXXX")
root=$work/root
cleanup() {
	local m
	# innermost first: never delete through a bind mount of the cache
	for m in $(findmnt -rn -o TARGET | grep "^$root" | sort -r); do umount -l "$m" || true; done
	if [[ ${RUMOR_PKG_KEEP:-0} == 1 ]]; then
		say "kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

# 1. The tree as it is (HEAD plus working changes, untracked files that git does not ignore),
# copied out so that the build writes nothing into the source tree.
version=$(sed -n '1s/^rumor (\([^)]*\)).*/\1/p' "$src/debian/changelog")
upstream=${version%-*}
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -1)
[[ $upstream == "$meson_version" ]] ||
	fail "debian/changelog says $version, meson.build says $meson_version"
tree=$work/rumor-$upstream
mkdir -p "$tree"
if [[ -n ${RUMOR_PKG_ONLY:-} ]]; then
	# HEAD plus only these working-tree paths (others' unfinished edits left out)
	git -C "$src" archive HEAD | tar -xf - -C "$tree"
	# shellcheck disable=SC2086
	(cd "$src" && tar -cf - $RUMOR_PKG_ONLY) | tar -xf - -C "$tree"
else
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
fi
say "copied $(find "$tree" -type f | wc -l) files of $src to $tree"

# 2. Build the binary packages (the build's output goes to $work, beside the tree).
tb=$(date +%s)
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
	tail -40 "$work/build.log"
	fail "dpkg-buildpackage (log above)"
fi
mapfile -t debs < <(ls "$work"/*.deb)
changes=$(ls "$work"/rumor_*.changes)
say "dpkg-buildpackage -b: $(($(date +%s) - tb)) s: ${debs[*]##*/}"
for d in "${debs[@]}"; do
	echo "--- ${d##*/}"
	dpkg-deb -c "$d" | awk '{print $1, $2, $6}'
done

# 3. lintian: errors fail the test, warnings and infos are shown.
tl=$(date +%s)
lintian --fail-on error --display-info --info "$changes" >"$work/lintian.log" 2>&1 && lrc=0 || lrc=$?
cat "$work/lintian.log"
((lrc == 0)) || fail "lintian found errors (exit $lrc)"
say "lintian: $(($(date +%s) - tl)) s, $(grep -c '^E:' "$work/lintian.log") errors," \
	"$(grep -c '^W:' "$work/lintian.log") warnings, $(grep -c '^I:' "$work/lintian.log") infos"

# 4. librumor-dev: the example client links against the installed library via pkg-config.
dev=$work/dev
dpkg-deb -x "$(ls "$work"/librumor-dev_*.deb)" "$dev"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pc() { PKG_CONFIG_SYSROOT_DIR=$dev PKG_CONFIG_LIBDIR=$dev/usr/lib/$ma/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/share/pkgconfig pkg-config "$@"; }
[[ $(pc --modversion rumor) == "$upstream" ]] || fail "rumor.pc version $(pc --modversion rumor)"
# shellcheck disable=SC2046
cc -Wall -Werror -o "$work/example" "$tree/client/example.c" $(pc --cflags --libs rumor) ||
	fail "client/example.c does not build against librumor-dev"
say "librumor-dev: client/example.c built with pkg-config rumor ($(pc --cflags --libs rumor | sed "s,$dev,,g"))"

# 5. A fresh Debian 12 root. debootstrap runs once; its result is kept as a tarball in the
# cache, so a rerun only unpacks it. The mirror is the one this box's apt uses.
mirror=$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
	awk '$1 == "deb" && $0 ~ /[ \t]'$suite'[ \t]/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:/) {print $i; exit}}')
if [[ -z $mirror ]]; then # deb822 .sources: the URIs of the stanza whose Suites name the suite
	mirror=$({ cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
		awk '/^URIs:/ {u = $2} /^Suites:/ && $0 ~ /[ \t]'$suite'([ \t]|$)/ && u {print u; exit}')
fi
[[ -n $mirror ]] || fail "no $suite mirror in /etc/apt/sources.list{,.d}"
mkdir -p "$cache/apt-archives/partial" "$cache/apt-lists/partial" "$cache/debootstrap-debs"
base=$cache/$suite-minbase-root.tar.gz
td=$(date +%s)
if [[ ! -s $base ]]; then
	say "debootstrap --variant=minbase $suite from $mirror (once; cached as $base)"
	debootstrap --variant=minbase --cache-dir="$cache/debootstrap-debs" "$suite" "$work/boot" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; fail debootstrap; }
	tar -C "$work/boot" -czf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf --one-file-system "$work/boot"
fi
mkdir -p "$root"
tar -C "$root" -xzf "$base"
say "Debian 12 root ready in $(($(date +%s) - td)) s ($base, mirror $mirror)"

# apt inside the root sees what the host sees: same sources, same validity settings.
rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
[[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$root/etc/apt/"
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && cp "$f" "$root/etc/apt/sources.list.d/"
done
apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
	>"$root/etc/apt/apt.conf.d/50rumor-test" || true
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mount --bind "$cache/apt-lists" "$root/var/lib/apt/lists"
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

ti=$(date +%s)
in_root apt-get update -q >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "apt-get update in the root"; }
(cd "$root/tmp/debs" && in_root sh -c 'cd /tmp/debs && apt-get install -y -q --no-install-recommends ./*.deb') \
	>>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; fail "apt-get install ./rumor*.deb in the root"; }
grep -E '^(Setting up (rumor|librumor)|[0-9]+ upgraded)' "$work/apt.log" || true
say "apt-get install of the .debs in the root: $(($(date +%s) - ti)) s"

# 6. What an operator gets.
for b in rumorctl rumor-dp rumor-cp; do
	out=$(in_root "$b" --version) || fail "$b --version exited $?"
	echo "root\$ $b --version"
	echo "$out"
	[[ $out == "$b $upstream" ]] || fail "$b --version printed '$out', want '$b $upstream'"
done
in_root rumorctl -s /nonexistent.sock status >/dev/null 2>&1 && rc=0 || rc=$?
((rc == 3)) || fail "rumorctl status on a missing socket exited $rc, want 3 (unreachable)"
in_root getent passwd rumor | grep -q ':/var/lib/rumor:' || fail "no rumor system user with home /var/lib/rumor"
own=$(in_root stat -c '%U:%G %a' /var/lib/rumor)
[[ $own == "rumor:rumor 750" ]] || fail "/var/lib/rumor is $own"
for f in /etc/rumor/rumor.conf /lib/systemd/system/rumor-dp@.service \
	/lib/systemd/system/rumor-cp@.service /lib/systemd/system/rumor-hugepages.service \
	/usr/include/rumor/rumor.h "/usr/lib/$ma/pkgconfig/rumor.pc"; do
	[[ -f $root$f ]] || fail "$f not installed"
done
grep -h '^ExecStart=' "$root"/lib/systemd/system/rumor-{dp,cp}@.service | grep -q /usr/local &&
	fail "a unit still starts a binary from /usr/local"
for u in rumor-dp@.service rumor-cp@.service; do
	bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/lib/systemd/system/$u")
	[[ -x $root$bin ]] || fail "$u starts $bin, which the package does not ship"
done
say "user rumor, /var/lib/rumor ($own), config, units (binaries in /usr/bin), header and .pc present"

# Reinstall (postinst with the user present) and purge must also go through.
in_root sh -c 'dpkg -i /tmp/debs/rumor_*.deb' >>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "reinstall (dpkg -i) failed"; }
in_root apt-get purge -y -q rumor rumor-dbgsym librumor-dev >>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "apt-get purge failed"; }
[[ ! -e $root/usr/bin/rumor-dp && ! -e $root/etc/rumor/rumor.conf ]] || fail "purge left files"
say "reinstall and purge: ok"
say "PASS in $(($(date +%s) - t0)) s"
