#!/usr/bin/env bash
# The portable core on a Cortex-M4: cross-compile every file of src/core, the flash
# emulator core (src/flash/flash_emul.c), the portable crypto backend and the example port
# (ports/cortex-m4) with Debian's gcc-arm-none-eabi and newlib-nano, -Os -ffreestanding,
# and link the example firmware. Any compiler or linker warning fails the build, and so does
# a link that pulls in the heap (malloc and friends) or any OS call (newlib's syscall stubs
# are deliberately not linked, so an OS call is an undefined symbol).
#
# Two configurations (include/otakit/config.h):
#   lean  no log text, no diagnostic text, 256-byte I/O chunks: what a bootloader ships;
#         no printf, no allocator, no OS call in the image;
#   text  error logs and diagnostic text kept, same chunks: the cost of the messages. It
#         links newlib-nano's snprintf, which drags malloc in by reference (never called
#         for a fixed buffer); heap_none.c gives it no pool, so it could only fail.
# Then the lean example also runs on this PC (host gcc, same sources, board_host.c instead
# of startup.c) and the portable crypto backend is checked against the published vectors.
#
# Output in build/cortex-m4/<config>/: objects with .su (-fstack-usage) and .ci
# (-fcallgraph-info) files, example.elf and example.map. scripts/size-report.sh reads them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/cortex-m4}
CC=arm-none-eabi-gcc
jobs=$(nproc 2>/dev/null || echo 2)

for tool in "$CC" arm-none-eabi-nm; do
  command -v "$tool" >/dev/null || { echo "cross-build: $tool not found (make deps)" >&2; exit 1; }
done

# Cortex-M4 without the FPU (the core does no floating point): Thumb-2, soft-float ABI.
arch=(-mcpu=cortex-m4 -mthumb -mfloat-abi=soft)
warn=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
      -Wvla -Wcast-align -Wdouble-promotion)
# -ffreestanding makes <stdint.h> GCC's own, whose types newlib's <inttypes.h> does not
# recognise (no PRIx64); putting newlib's headers first keeps the C library's <stdint.h>
# and <inttypes.h> a matching pair.
newlib_inc="$(dirname "$("$CC" -print-file-name=libc.a)")/../include"
cflags=("${arch[@]}" -std=c11 -Os -ffreestanding -ffunction-sections -fdata-sections
        -fstack-usage -fcallgraph-info=su "${warn[@]}" -isystem "$newlib_inc"
        -Iinclude -Iinclude/esp -Iports/cortex-m4)
declare -A extra=(
  [lean]=""
  [text]="ports/cortex-m4/heap_none.c"
)
# Both leave out what only the host uses: the emulator's fault injection and the tools'
# data (esptool's display tables, gen_esp32part's reader) (include/otakit/config.h says what each option changes).
# The example's flash is memory-mapped, so the table is read through the mapping only.
device_only="-DOTK_CONFIG_FLASH_FAULTS=0 -DOTK_CONFIG_TOOLS=0
             -DOTK_CONFIG_IO_CHUNK=256 -DOTK_CONFIG_TABLE_READ_BUFFER=0
             -DOTK_CONFIG_CRC32_TABLE=0 -DOTK_CONFIG_FAST_NOR_CHECK=0"
# The lean build also leaves out Secure Boot v2 (the tiny crypto backend cannot verify a
# signature anyway; a device with secure boot on then boots nothing: it fails closed); the
# text build keeps it, so the signature code is cross-compiled with zero warnings too.
declare -A config=(
  [lean]="$device_only -DOTK_CONFIG_LOG_MAX_LEVEL=0 -DOTK_CONFIG_DIAG_TEXT=0
          -DOTK_CONFIG_SECURE_BOOT=0"
  [text]="$device_only -DOTK_CONFIG_LOG_MAX_LEVEL=1 -DOTK_CONFIG_DIAG_TEXT=1"
)
sources=(src/core/*.c src/flash/flash_emul.c src/port/crypto_tiny.c
         ports/cortex-m4/flash_driver_example.c ports/cortex-m4/log_port.c
         ports/cortex-m4/example_app.c ports/cortex-m4/main.c ports/cortex-m4/startup.c)

# Compile one source; the compiler's output is the log, and any line of it fails the build
# (-Werror already makes warnings errors; notes and linker chatter count too).
compile() {
  local dir=$1 src=$2 flags=$3
  local obj="$dir/$(basename "${src%.c}").o"
  # shellcheck disable=SC2086 # flags is a list of -D options
  if ! "$CC" "${cflags[@]}" $flags -c "$src" -o "$obj" >"$obj.log" 2>&1 || [ -s "$obj.log" ]; then
    cat "$obj.log" >&2
    return 1
  fi
}
export -f compile
export CC
export cflags_str="${cflags[*]}"

for name in lean text; do
  dir="$out/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  # The configuration, one option a line, for size-report.sh to compile with the same.
  printf '%s\n' ${config[$name]} >"$dir/flags"
  # Objects in parallel: one compiler per core.
  # shellcheck disable=SC2086 # extra is a list of paths
  printf '%s\n' "${sources[@]}" ${extra[$name]} | xargs -P "$jobs" -I{} bash -c \
    'read -ra cflags <<<"$cflags_str"; compile "$0" "$1" "$2"' "$dir" {} "${config[$name]}" \
    || { echo "cross-build ($name): compile failed" >&2; exit 1; }
  # -nostartfiles: startup.c is the start-up code. No nosys.specs: no syscall stubs.
  if ! "$CC" "${arch[@]}" --specs=nano.specs -nostartfiles -T ports/cortex-m4/link.ld \
       -Wl,--gc-sections -Wl,--fatal-warnings -Wl,-Map="$dir/example.map" \
       "$dir"/*.o -o "$dir/example.elf" >"$dir/link.log" 2>&1 || [ -s "$dir/link.log" ]; then
    cat "$dir/link.log" >&2
    echo "cross-build ($name): link failed or warned" >&2
    exit 1
  fi
  # No OS call may be reached (the link would already have failed on the stubs' names),
  # and in the lean build no allocator either.
  os_calls='_write|_read|_open|_close|_lseek|_fstat|_isatty|_kill|_getpid|_exit|_gettimeofday|clock_gettime|mmap'
  heap='malloc|free|calloc|realloc|_malloc_r|_free_r|_realloc_r|_sbrk_r|_sbrk'
  pattern="^($os_calls)\$"
  [ "$name" = lean ] && pattern="^($os_calls|$heap)\$"
  forbidden=$(arm-none-eabi-nm "$dir/example.elf" | awk -v re="$pattern" '$3 ~ re {print $3}')
  if [ -n "$forbidden" ]; then
    echo "cross-build ($name): the image links functions it must not: $forbidden" >&2
    exit 1
  fi
  what="no OS calls"
  [ "$name" = lean ] && what="no printf, no heap, no OS calls"
  echo "cross-build: $name: $dir/example.elf (0 warnings; $what)"
done

# The same example on this PC: proves the firmware does what it says (boot, update,
# reset, confirm), with the lean configuration and the portable crypto backend.
host="$out/host"
rm -rf "$host"; mkdir -p "$host"
# shellcheck disable=SC2086
# Under ASan and UBSan: an out-of-bounds or undefined step fails the run.
gcc -std=c11 -O1 -fsanitize=address,undefined -fno-sanitize-recover=all "${warn[@]}" \
  ${config[lean]} -Iinclude -Iinclude/esp -Iports/cortex-m4 \
  src/core/*.c src/flash/flash_emul.c src/port/crypto_tiny.c \
  ports/cortex-m4/flash_driver_example.c ports/cortex-m4/log_port.c \
  ports/cortex-m4/example_app.c ports/cortex-m4/main.c ports/cortex-m4/board_host.c \
  -o "$host/example" >"$host/build.log" 2>&1 || { cat "$host/build.log" >&2; exit 1; }
if ! "$host/example" >"$host/run.log" 2>&1; then
  cat "$host/run.log" >&2
  echo "cross-build: the example failed when run on the host" >&2
  exit 1
fi
sed 's/^/  example: /' "$host/run.log"

# The portable crypto backend against FIPS 180-2 / RFC 1321 vectors (the unit test every
# backend passes).
gcc -std=c11 -O2 "${warn[@]}" -Iinclude -Iinclude/esp -Itests/unit/support \
  tests/unit/test_crypto.c tests/unit/support/test_support.c src/port/crypto_tiny.c \
  -lcmocka -o "$host/test_crypto_tiny" >"$host/crypto.log" 2>&1 || { cat "$host/crypto.log" >&2; exit 1; }
"$host/test_crypto_tiny" >"$host/crypto_run.log" 2>&1 || { cat "$host/crypto_run.log" >&2; exit 1; }
echo "cross-build: crypto_tiny passes the SHA-256 and MD5 vectors"
