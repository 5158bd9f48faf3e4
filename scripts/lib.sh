# Shared by scripts/demo.sh and scripts/test.sh: install what pixcdn needs when it is missing.
# Sourced, not run.

GO_VERSION=1.26.8          # the toolchain fetched when no recent enough Go is installed
GO_MIN_MINOR=26            # go.mod says go 1.26
VERSITYGW_VERSION=v1.8.0   # the S3 server the test suite starts

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		say "need root for: $*"; return 1; fi
}

apt_updated=
# ensure_apt PKG...: installs the Debian/Ubuntu packages that are not installed yet.
ensure_apt() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	say "installing Debian packages: ${missing[*]}"
	if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

go_ok() {
	command -v go >/dev/null || return 1
	local v; v=$(go env GOVERSION 2>/dev/null) || return 1   # go1.26.8
	v=${v#go}; local minor=${v#1.}; minor=${minor%%.*}
	[ "${v%%.*}" = 1 ] && [ "$minor" -ge "$GO_MIN_MINOR" ] 2>/dev/null
}

# ensure_go puts a Go toolchain of at least 1.$GO_MIN_MINOR on PATH: the installed one, or the
# official toolchain module fetched from the Go module proxy into ~/.cache/pixcdn.
ensure_go() {
	for d in /usr/local/go/bin "$HOME/.cache/pixcdn/go/bin"; do
		go_ok || { [ -x "$d/go" ] && export PATH="$d:$PATH"; }
	done
	go_ok && return 0
	ensure_apt ca-certificates curl unzip
	local arch; arch=$(dpkg --print-architecture)
	local proxy=${GOPROXY:-https://proxy.golang.org}; proxy=${proxy%%,*}
	local zip="$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-$arch.zip"
	local dest="$HOME/.cache/pixcdn"
	say "fetching Go $GO_VERSION from $zip"
	mkdir -p "$dest" && rm -rf "$dest/go" "$dest/toolchain.zip" "$dest/unpack"
	curl -fsSL -o "$dest/toolchain.zip" "$zip"
	unzip -q "$dest/toolchain.zip" -d "$dest/unpack"
	mv "$dest/unpack/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$arch" "$dest/go"
	rm -rf "$dest/unpack" "$dest/toolchain.zip"
	export PATH="$dest/go/bin:$PATH"
	go_ok || { say "Go $GO_VERSION did not install"; return 1; }
}

# ensure_dig installs dig (Debian's dnsutils): the router's tests query it as a resolver would.
ensure_dig() { command -v dig >/dev/null || ensure_apt dnsutils; }

# ensure_chromium installs Debian's chromium: the dashboard's tests drive it headless.
ensure_chromium() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || ensure_apt chromium; }

# ensure_cc installs a C compiler: the race detector (and later libvips) need cgo.
ensure_cc() { command -v gcc >/dev/null || ensure_apt gcc libc6-dev; }

# ensure_versitygw installs the pinned S3 server the origin tests run against.
ensure_versitygw() {
	local bin; bin="$(go env GOPATH)/bin/versitygw"
	if [ -x "$bin" ] && go version -m "$bin" | grep -qE "^\s+mod\s+github.com/versity/versitygw\s+$VERSITYGW_VERSION\b"; then
		return 0
	fi
	say "installing versitygw $VERSITYGW_VERSION"
	go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
}

# ensure_vips installs libvips (the image pipeline's engine, through cgo) with its headers, and
# where the distribution ships libheif's AV1 and HEVC codecs as plugins (Ubuntu 24.04,
# Debian 13), those too: without them AVIF output and HEIC input fail.
ensure_vips() {
	ensure_cc
	ensure_apt pkg-config libvips-dev
	local p
	for p in libheif-plugin-aomenc libheif-plugin-dav1d libheif-plugin-libde265; do
		if apt-cache show "$p" >/dev/null 2>&1; then ensure_apt "$p"; fi
	done
	pkg-config --atleast-version=8.14 vips || { say "libvips $(pkg-config --modversion vips) is too old: pixcdn needs 8.14 or newer"; return 1; }
}
