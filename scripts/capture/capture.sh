#!/usr/bin/env bash
# npm run capture -- [options]
#
# Capture real x86-64 BPF JIT images from a real kernel booted under QEMU
# (software emulation, TCG: no KVM, nothing is loaded into this host's
# kernel) and write them as bpf-jit-oracle/1 fixtures.
#
# See docs/capture.md. Exit codes: 0 ok, 1 failure, 2 bad usage.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"

usage() {
	cat <<'EOF'
usage: scripts/capture/capture.sh [options]

  --config NAME       default | nomitigations | retbleed-stuff | eibrs | rethunk | all
                      (repeatable or a comma list; default: default,nomitigations)
  --cpu MODEL         QEMU -cpu model for the guest (repeatable or a comma list, e.g.
                      Skylake-Client,Icelake-Server,EPYC-Milan,max). Every config is booted on
                      every model; fixtures go to DIR/linux-<release>/<MODEL>/<config>/.
                      Without --cpu: the legacy layout (max, EPYC for rethunk) in DIR/linux-<release>/<config>/.
  --kernel-deb PATH   a linux-image-*.deb to take vmlinuz (and its config) from
  --kernel PATH       a bzImage/vmlinuz to boot as is (needs BPF_SYSCALL, BPF_JIT, initramfs, 8250 console)
  --out DIR           fixture root (default: test/fixtures/captured); files go to DIR/linux-<release>/<config>/
  --transcripts DIR   where transcripts are kept (default: test/fixtures/capture-transcripts)
  --cache DIR         build/cache directory outside the repo (default: /var/cache/pokecheck-capture)
  --cmdline-extra S   appended to the guest kernel command line of every config
  --timeout SEC       give up on one boot after SEC seconds (default: 900)
  --no-install        do not apt-get anything; fail if a tool is missing
  --no-write          boot and save the transcript, but do not write fixtures
  --no-dis            write no objdump .dis files beside the fixtures
  -h, --help          this text

Configurations (all: -machine pc -accel tcg -smp 1 -m 512; -cpu max unless --cpu):
  default        no extra cmdline: the kernel picks its mitigations from the CPU model
  nomitigations  mitigations=off  (plain `jmp *%rcx; int3`, `ret; int3`)
  retbleed-stuff retbleed=stuff (call-depth tracking); only if the kernel's config has
                 CONFIG_[MITIGATION_]CALL_DEPTH_TRACKING=y (6.2+), else skipped
  eibrs          spectre_v2=eibrs; only on a CPU model whose default boot reported the
                 ibrs_enhanced flag (elsewhere the kernel falls back to its default), else skipped
  rethunk        -cpu EPYC (AMD Zen: retbleed/SRSO make `ret` a jmp to a return thunk);
                 the old command line's config, not allowed with --cpu (use --cpu EPYC)
  all            with --cpu: default, nomitigations, retbleed-stuff, eibrs;
                 without: default, nomitigations, rethunk (as before --cpu existed)
EOF
}

die() { echo "capture: error: $*" >&2; exit 1; }
bad_usage() { echo "capture: $*" >&2; echo "try: scripts/capture/capture.sh --help" >&2; exit 2; }

CONFIGS=()
CPUS=()
KERNEL_DEB=""
KERNEL_IMG=""
OUT_DIR="$REPO_DIR/test/fixtures/captured"
TRANSCRIPT_DIR="$REPO_DIR/test/fixtures/capture-transcripts"
CACHE_DIR="/var/cache/pokecheck-capture"
CMDLINE_EXTRA=""
TIMEOUT=900
INSTALL=1
WRITE=1
DIS_FLAG=()

need_arg() { [[ $# -ge 2 && -n "$2" ]] || bad_usage "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
	case "$1" in
	--config) need_arg "$@"; IFS=',' read -r -a _c <<<"$2"; CONFIGS+=("${_c[@]}"); shift 2 ;;
	--config=*) IFS=',' read -r -a _c <<<"${1#*=}"; CONFIGS+=("${_c[@]}"); shift ;;
	--cpu) need_arg "$@"; IFS=',' read -r -a _c <<<"$2"; CPUS+=("${_c[@]}"); shift 2 ;;
	--cpu=*) IFS=',' read -r -a _c <<<"${1#*=}"; CPUS+=("${_c[@]}"); shift ;;
	--kernel-deb) need_arg "$@"; KERNEL_DEB="$2"; shift 2 ;;
	--kernel) need_arg "$@"; KERNEL_IMG="$2"; shift 2 ;;
	--out) need_arg "$@"; OUT_DIR="$2"; shift 2 ;;
	--transcripts) need_arg "$@"; TRANSCRIPT_DIR="$2"; shift 2 ;;
	--cache) need_arg "$@"; CACHE_DIR="$2"; shift 2 ;;
	--cmdline-extra) need_arg "$@"; CMDLINE_EXTRA="$2"; shift 2 ;;
	--timeout) need_arg "$@"; TIMEOUT="$2"; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--no-write) WRITE=0; shift ;;
	--no-dis) DIS_FLAG=(--no-dis); shift ;;
	-h|--help) usage; exit 0 ;;
	*) bad_usage "unknown option: $1" ;;
	esac
done
[[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=(default nomitigations)
_expanded=()
for c in "${CONFIGS[@]}"; do
	case "$c" in
	default|nomitigations|retbleed-stuff|eibrs) _expanded+=("$c") ;;
	rethunk) [[ ${#CPUS[@]} -eq 0 ]] || bad_usage "config rethunk means -cpu EPYC; with --cpu give --cpu EPYC --config default"
		_expanded+=("$c") ;;
	all) if [[ ${#CPUS[@]} -gt 0 ]]; then _expanded+=(default nomitigations retbleed-stuff eibrs); else _expanded+=(default nomitigations rethunk); fi ;;
	*) bad_usage "unknown config: $c (default | nomitigations | retbleed-stuff | eibrs | rethunk | all)" ;;
	esac
done
# Each config once, in the order given (default first when present: eibrs looks at its flags).
CONFIGS=($(printf '%s\n' "${_expanded[@]}" | awk '!seen[$0]++' | awk '$0=="default"{print "0 " $0; next} {print NR " " $0}' | sort -n | cut -d' ' -f2))
for c in "${CPUS[@]}"; do
	[[ "$c" =~ ^[A-Za-z0-9._-]+$ ]] || bad_usage "bad --cpu model name: $c"
done
mkdir -p "$OUT_DIR" "$TRANSCRIPT_DIR" || die "cannot create $OUT_DIR / $TRANSCRIPT_DIR"
OUT_DIR="$(realpath "$OUT_DIR")"
TRANSCRIPT_DIR="$(realpath "$TRANSCRIPT_DIR")"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || bad_usage "--timeout wants seconds"
[[ -z "$KERNEL_DEB" || -z "$KERNEL_IMG" ]] || bad_usage "give --kernel-deb or --kernel, not both"
[[ -z "$KERNEL_DEB" || -f "$KERNEL_DEB" ]] || bad_usage "no such file: $KERNEL_DEB"
[[ -z "$KERNEL_IMG" || -f "$KERNEL_IMG" ]] || bad_usage "no such file: $KERNEL_IMG"
[[ -n "$KERNEL_DEB" ]] && KERNEL_DEB="$(realpath "$KERNEL_DEB")"
[[ -n "$KERNEL_IMG" ]] && KERNEL_IMG="$(realpath "$KERNEL_IMG")"

log() { echo "capture: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- 1. tools (idempotent: apt-get only what is missing) ---------------------
PKGS=(qemu-system-x86 bpftool clang llvm busybox-static libbpf-dev libelf-dev zlib1g-dev
	libzstd-dev gcc libc6-dev binutils cpio gzip file)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	[[ $INSTALL -eq 1 ]] || die "missing packages (and --no-install given): ${missing[*]}"
	[[ $(id -u) -eq 0 ]] || die "missing packages ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: this script wants Debian (12) or similar"
	log "installing: ${missing[*]}"
	apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
fi
for t in qemu-system-x86_64 clang gcc cpio gzip; do
	command -v "$t" >/dev/null || die "$t not found after install"
done
if [[ ${#CPUS[@]} -gt 0 ]]; then
	known_cpus="$(qemu-system-x86_64 -cpu help | awk '$1=="x86" { print $2 }')"
	for c in "${CPUS[@]}"; do
		grep -qxF -- "$c" <<<"$known_cpus" || bad_usage "unknown --cpu model for this QEMU ($(qemu-system-x86_64 --version | head -1)): $c (see qemu-system-x86_64 -cpu help)"
	done
fi
BUSYBOX="$(command -v busybox || true)"
[[ -x /bin/busybox ]] && BUSYBOX=/bin/busybox
file -L "$BUSYBOX" | grep -q 'statically linked' || die "$BUSYBOX is not static (install busybox-static)"
command -v node >/dev/null || die "node (>= 20) is needed to write the fixtures"

mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR"
CACHE_DIR="$(realpath "$CACHE_DIR")"
case "$CACHE_DIR/" in "$REPO_DIR"/*) die "--cache must be outside the repository (kernels and initramfs are not committed)";; esac

# ---- 2. kernel -----------------------------------------------------------------
KERNEL_DEB_VERSION=""
KERNEL_CONFIG=""
if [[ -z "$KERNEL_IMG" ]]; then
	if [[ -z "$KERNEL_DEB" ]]; then
		# The kernel linux-image-amd64 points at. Downloaded, never installed:
		# nothing touches this host's /boot or its running kernel.
		pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
		if [[ -z "$pkg" ]]; then
			[[ $INSTALL -eq 1 ]] || die "cannot resolve linux-image-amd64 (run apt-get update, or pass --kernel-deb)"
			apt-get update -qq || die "apt-get update failed"
			pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
		fi
		[[ -n "$pkg" ]] || die "cannot resolve linux-image-amd64 to a kernel package"
		mkdir -p "$CACHE_DIR/debs"
		KERNEL_DEB="$(ls "$CACHE_DIR/debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -1 || true)"
		if [[ -z "$KERNEL_DEB" ]]; then
			log "downloading $pkg (not installing it)"
			(cd "$CACHE_DIR/debs" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) \
				|| die "apt-get download $pkg failed"
			KERNEL_DEB="$(ls "$CACHE_DIR/debs/${pkg}_"*.deb | sort -V | tail -1)"
		fi
	fi
	KERNEL_DEB_VERSION="$(dpkg-deb -f "$KERNEL_DEB" Version)" || die "$KERNEL_DEB is not a .deb"
	kdir="$CACHE_DIR/kernel/$(basename "$KERNEL_DEB" .deb)"
	if [[ ! -d "$kdir/boot" ]]; then
		mkdir -p "$kdir.tmp"
		dpkg-deb --fsys-tarfile "$KERNEL_DEB" | tar -x -C "$kdir.tmp" ./boot || die "cannot unpack $KERNEL_DEB"
		rm -rf "$kdir" && mv "$kdir.tmp" "$kdir"
	fi
	KERNEL_IMG="$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -1)"
	[[ -n "$KERNEL_IMG" ]] || die "no boot/vmlinuz-* in $KERNEL_DEB"
	KERNEL_CONFIG="$(ls "$kdir"/boot/config-* 2>/dev/null | head -1 || true)"
fi
# The version string a bzImage carries (setup header field kernel_version).
bz_version() {
	local off
	off=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
	[[ -n "$off" && "$off" -gt 0 ]] || return 1
	dd if="$1" bs=1 skip=$((off + 0x200)) count=256 2>/dev/null | tr '\0' '\n' | head -1
}
KVER_STRING="$(bz_version "$KERNEL_IMG" || true)"
KRELEASE="${KVER_STRING%% *}"
[[ -n "$KRELEASE" ]] || die "cannot read the kernel version from $KERNEL_IMG (not a bzImage?)"
KSHA="$(sha256sum "$KERNEL_IMG" | cut -d' ' -f1)"
log "kernel $KRELEASE ($(basename "$KERNEL_IMG"), sha256 ${KSHA:0:16}...)${KERNEL_DEB_VERSION:+ from package version $KERNEL_DEB_VERSION}"
if [[ -n "$KERNEL_CONFIG" ]]; then
	for opt in CONFIG_BPF_SYSCALL CONFIG_BPF_JIT CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP CONFIG_SERIAL_8250_CONSOLE CONFIG_DEVTMPFS; do
		grep -q "^$opt=y" "$KERNEL_CONFIG" || die "$KERNEL_CONFIG lacks $opt=y: this kernel cannot run the capture"
	done
fi

# ---- 3. programs, loader, initramfs -------------------------------------------
BUILD="$CACHE_DIR/build"
rm -rf "$BUILD" && mkdir -p "$BUILD/progs" "$BUILD/root"
ARCH_INC="/usr/include/$(gcc -dumpmachine)"
for src in "$SCRIPT_DIR"/progs/*.bpf.c; do
	obj="$BUILD/progs/$(basename "${src%.c}").o"
	clang -O2 -g -target bpf -Wall -I"$ARCH_INC" -c "$src" -o "$obj" || die "clang failed on $src"
done
gcc -O2 -Wall -static -o "$BUILD/pokecap" "$SCRIPT_DIR/loader/pokecap.c" -lbpf -lelf -lz -lzstd \
	2> >(grep -v 'warning: Using' >&2) || die "building the loader failed (libbpf-dev, libelf-dev, zlib1g-dev, libzstd-dev)"

R="$BUILD/root"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,progs}
cp "$BUSYBOX" "$R/bin/busybox"
cp "$BUILD/pokecap" "$R/pokecap"
cp "$BUILD"/progs/*.bpf.o "$R/progs/"
: >"$R/pokecap-guest"
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo "pokecap-init: running the capture" >/dev/ttyS0
/pokecap --out /dev/ttyS1 /progs
echo "pokecap-init: pokecap exited with $?" >/dev/ttyS0
/bin/busybox sync
/bin/busybox poweroff -f
EOF
chmod +x "$R/init"
INITRD="$BUILD/initramfs.cpio.gz"
(cd "$R" && find . | sort | cpio -o -H newc --quiet | gzip -9) >"$INITRD" || die "cpio failed"

# ---- 4. boot, once per configuration -----------------------------------------------
NODE_WRITER=""
if [[ $WRITE -eq 1 ]]; then
	if [[ ! -d "$REPO_DIR/node_modules/typescript" ]]; then
		log "installing npm dependencies (npm ci)"
		(cd "$REPO_DIR" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed"
	fi
	(cd "$REPO_DIR" && npx tsc -p scripts/capture/tsconfig.json) || die "compiling the fixture writer failed"
	NODE_WRITER="$REPO_DIR/dist/scripts/capture/write-fixtures.js"
	[[ -f "$NODE_WRITER" ]] || die "writer not built: $NODE_WRITER"
fi

BASE_CMDLINE="console=ttyS0 quiet loglevel=1 panic=-1 nokaslr"
LEGACY=0
[[ ${#CPUS[@]} -gt 0 ]] || { LEGACY=1; CPUS=(max); }
SKIPPED=()
has_kconfig() { [[ -n "$KERNEL_CONFIG" ]] && grep -q "^$1=y" "$KERNEL_CONFIG"; }
for cpu_model in "${CPUS[@]}"; do
for cfg in "${CONFIGS[@]}"; do
	cpu=$cpu_model
	extra=""
	if [[ $LEGACY -eq 1 ]]; then
		sub="$cfg"
	else
		sub="$cpu_model/$cfg"
	fi
	case "$cfg" in
	default) ;;
	nomitigations) extra="mitigations=off" ;;
	rethunk) cpu=EPYC ;;
	retbleed-stuff)
		extra="retbleed=stuff"
		# CONFIG_CALL_DEPTH_TRACKING (v6.2), renamed CONFIG_MITIGATION_CALL_DEPTH_TRACKING in v6.9
		if ! has_kconfig CONFIG_CALL_DEPTH_TRACKING && ! has_kconfig CONFIG_MITIGATION_CALL_DEPTH_TRACKING; then
			why="kernel $KRELEASE has no CONFIG_[MITIGATION_]CALL_DEPTH_TRACKING=y$( [[ -n "$KERNEL_CONFIG" ]] && echo " in $(basename "$KERNEL_CONFIG")" || echo " (no config to check)" ): retbleed=stuff is not offered"
			log "[$sub] skipped: $why"; SKIPPED+=("$sub: $why"); continue
		fi ;;
	eibrs)
		extra="spectre_v2=eibrs"
		dflt="$CACHE_DIR/runs/linux-$KRELEASE/${sub%/*}/default/transcript.txt"
		[[ $LEGACY -eq 0 ]] || dflt="$CACHE_DIR/runs/linux-$KRELEASE/default/transcript.txt"
		if [[ ! -f "$dflt" ]]; then
			why="no default boot of this CPU model to tell whether it has eIBRS (give --config default,eibrs)"
			log "[$sub] skipped: $why"; SKIPPED+=("$sub: $why"); continue
		fi
		if ! grep '^POKECAP meta key=cpu.flags ' "$dflt" | grep -q 'ibrs_enhanced'; then
			why="the guest CPU has no ibrs_enhanced flag: spectre_v2=eibrs falls back to the default selection"
			log "[$sub] skipped: $why"; SKIPPED+=("$sub: $why"); continue
		fi ;;
	esac
	cmdline="$BASE_CMDLINE${extra:+ $extra}${CMDLINE_EXTRA:+ $CMDLINE_EXTRA}"
	run="$CACHE_DIR/runs/linux-$KRELEASE/$sub"
	rm -rf "$run" && mkdir -p "$run"
	qemu=(qemu-system-x86_64 -machine pc -accel tcg -cpu "$cpu" -smp 1 -m 512
		-display none -monitor none -no-reboot
		-kernel "$KERNEL_IMG" -initrd "$INITRD" -append "$cmdline"
		-serial "file:$run/console.log" -serial "file:$run/transcript.raw")
	log "[$sub] booting under TCG: ${qemu[*]}"
	# Under heavy host load a TCG guest can fail its early timer check ("IO-APIC + timer
	# doesn't work!") and panic before the capture starts: such a boot is tried again, twice
	# at most. A guest that started the capture and did not finish it is an error at once.
	for attempt in 1 2 3; do
		t0=$(now)
		set +e
		timeout "$TIMEOUT" "${qemu[@]}" </dev/null >"$run/qemu.out" 2>&1
		rc=$?
		set -e
		t1=$(now)
		secs=$(elapsed "$t0" "$t1")
		[[ $rc -ne 124 ]] || die "[$sub] QEMU did not power off within ${TIMEOUT}s; see $run/console.log"
		[[ $rc -eq 0 ]] || die "[$sub] QEMU exited with $rc; see $run/qemu.out and $run/console.log"
		tr -d '\r' <"$run/transcript.raw" >"$run/transcript.txt"
		grep -q '^POKECAP end status=ok' "$run/transcript.txt" && break
		if [[ $attempt -lt 3 ]] && ! grep -q '^POKECAP begin' "$run/transcript.txt" && grep -q 'Kernel panic' "$run/console.log"; then
			log "[$sub] the kernel panicked before the capture began ($(grep -m1 -o 'Kernel panic.*' "$run/console.log" | cut -c1-80)); booting again"
			cp "$run/console.log" "$run/console.attempt$attempt.log"
			: >"$run/transcript.raw"
			continue
		fi
		die "[$sub] the guest did not finish the capture; see $run/console.log and $run/transcript.txt"
	done
	log "[$sub] QEMU ran ${secs}s (boot + capture + poweroff), $(grep -c '^POKECAP snap' "$run/transcript.txt") snapshots"

	tdir="$TRANSCRIPT_DIR/linux-$KRELEASE/$sub"
	mkdir -p "$tdir"
	cp "$run/transcript.txt" "$tdir/transcript.txt"
	# What only the host knows, for the fixture metadata.
	{
		printf '{\n'
		printf '  "format": "pokecap-host/1",\n'
		printf '  "config": "%s",\n' "$cfg"
		printf '  "cpu_model": "%s",\n' "$cpu"
		printf '  "layout": "%s",\n' "$( [[ $LEGACY -eq 1 ]] && echo legacy || echo per-cpu )"
		printf '  "kernel_image": "%s",\n' "$(basename "$KERNEL_IMG")"
		printf '  "kernel_image_sha256": "%s",\n' "$KSHA"
		printf '  "kernel_package": "%s",\n' "$( [[ -n "$KERNEL_DEB" ]] && basename "$KERNEL_DEB" )"
		printf '  "kernel_package_version": "%s",\n' "$KERNEL_DEB_VERSION"
		printf '  "qemu": "qemu-system-x86_64 -machine pc -accel tcg -cpu %s -smp 1 -m 512",\n' "$cpu"
		printf '  "qemu_version": "%s",\n' "$(qemu-system-x86_64 --version | head -1 | sed 's/"/\\"/g')"
		printf '  "guest_cmdline_requested": "%s",\n' "$cmdline"
		printf '  "wall_seconds": %s,\n' "$secs"
		printf '  "captured_at": "%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf '}\n'
	} >"$tdir/host.json"
	if [[ $WRITE -eq 1 ]]; then
		# From the repo root, so that each fixture names its transcript by a repo-relative path.
		(cd "$REPO_DIR" && node "$NODE_WRITER" --transcript "$tdir/transcript.txt" --host "$tdir/host.json" --out "$OUT_DIR" "${DIS_FLAG[@]}") \
			|| die "[$sub] writing fixtures failed"
	fi
done
done
for sk in "${SKIPPED[@]}"; do log "not captured: $sk"; done
log "done"
