#!/usr/bin/env python3
"""Size, RAM and stack of the Cortex-M4 build (scripts/cross-build.sh's output).

Text/data/bss per layer come from the linker map: only what the example firmware keeps
after --gc-sections, attributed to the object it came from. RAM of the core's objects
comes from `nm -S` over ports/cortex-m4/sizes.c compiled for the target. Stack comes from
the call graph (stack_report.py).

Usage: size_report.py BUILD_DIR (build/cortex-m4)
"""
import os
import re
import subprocess
import sys

import stack_report

# The portable core must fit in this much text at -Os without crypto (the target).
CORE_TEXT_LIMIT = 16 * 1024
# The boot layer's stack budget (one boot run, crypto and flash driver included).
BOOT_STACK_LIMIT = 2 * 1024

# Object name -> layer; first match wins.
LAYERS = [
    ("flash", r"^flash_emul\.o$"),
    ("partition", r"^partition_"),
    ("image", r"^image_"),
    ("otadata", r"^otadata_"),
    ("boot", r"^boot"),
    ("ota", r"^ota_"),
    ("device", r"^(device|app_policy)\.o$"),
    ("common", r"^(diag|crc32|esp_err_names)\.o$"),
    ("crypto port", r"^crypto_"),
    ("log port", r"^log_port\.o$"),
    ("example board", r"^(flash_driver_example|example_app|main|startup|heap_none)\.o$"),
    ("C library", r"^lib(c_nano|gcc)\.a"),
]
CORE = ["flash", "partition", "image", "otadata", "boot", "ota", "device", "common"]

# An input section in the map: name, then address, size and object (maybe on the next line).
SECTION = re.compile(r"^ (\.[\w.$]+|COMMON)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", re.M)

ROOTS = [
    ("one boot run (otk_boot_run_with)", "otk_boot_run_with"),
    ("device power-on (boot + app table)", "otk_device_power_on"),
    ("esp_ota_begin", "otk_ota_begin"),
    ("esp_ota_write", "otk_ota_write"),
    ("esp_ota_end", "otk_ota_end"),
    ("esp_ota_set_boot_partition", "otk_ota_set_boot_partition"),
    ("the whole example (main)", "main"),
]


def layer_of(obj):
    name = os.path.basename(obj)
    for layer, pattern in LAYERS:
        if re.search(pattern, name):
            return layer
    return "other"


def kind_of(section):
    if section.startswith((".text", ".rodata", ".isr_vector", ".ARM")):
        return "text"
    if section.startswith(".data"):
        return "data"
    if section.startswith((".bss", "COMMON")):
        return "bss"
    if section.startswith(".nor"):
        return "nor"
    return None  # debug info, comments: not in the image


def sizes_from_map(path):
    text = open(path, encoding="utf-8").read()
    body = text[text.index("Linker script and memory map"):]
    per = {}
    for section, _addr, size, obj in SECTION.findall(body):
        kind = kind_of(section)
        if kind is None or int(size, 16) == 0:
            continue
        row = per.setdefault(layer_of(obj), {"text": 0, "data": 0, "bss": 0, "nor": 0})
        row[kind] += int(size, 16)
    return per


def type_sizes(build, variant):
    """sizeof of the core's types on the target: sizes.c defines one array per type."""
    obj = os.path.join(build, variant, "sizes.o")
    nm = subprocess.run(["arm-none-eabi-nm", "-S", obj], check=True, capture_output=True,
                        text=True).stdout
    out = {}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3].startswith("otk_sizeof_"):
            out[parts[3][len("otk_sizeof_"):]] = int(parts[1], 16)
    return out


def print_layers(maps):
    variants = list(maps)
    print("Text/data/bss per layer (bytes kept in the linked example, after --gc-sections):")
    head = "  {:<16}".format("layer") + "".join(
        "  |{:>10}{:>6}{:>7}".format(v + " text", "data", "bss") for v in variants)
    print(head)
    layers = [name for name, _ in LAYERS]
    totals = {v: {"text": 0, "data": 0, "bss": 0} for v in variants}
    for layer in layers:
        row = "  {:<16}".format(layer)
        for v in variants:
            r = maps[v].get(layer, {"text": 0, "data": 0, "bss": 0})
            row += "  |{:>10}{:>6}{:>7}".format(r["text"], r["data"], r["bss"])
            if layer in CORE:
                for k in totals[v]:
                    totals[v][k] += r[k]
        print(row)
        if layer == CORE[-1]:
            line = "  {:<16}".format("= core")
            for v in variants:
                t = totals[v]
                line += "  |{:>10}{:>6}{:>7}".format(t["text"], t["data"], t["bss"])
            print(line)
    for v in variants:
        nor = sum(r["nor"] for r in maps[v].values())
        verdict = "within" if totals[v]["text"] <= CORE_TEXT_LIMIT else "OVER"
        print(f"  {v}: core text {totals[v]['text']} bytes, {verdict} the "
              f"{CORE_TEXT_LIMIT}-byte target; simulated NOR array {nor} bytes (CCM, not RAM)")
    return totals


def print_ram(sizes):
    work = sizes["partition_table"] + sizes["image_stream"]
    print("RAM of the core's objects (sizeof on the target):")
    for label, value in [
        ("one OTA handle (otk_ota_entry_t)", sizes["ota_entry"]),
        ("boot result (otk_boot_result_t)", sizes["boot_result"]),
        ("boot working set (table + image stream)", work),
        ("  otk_partition_table_t", sizes["partition_table"]),
        ("  otk_image_stream_t", sizes["image_stream"]),
        ("one boot run: result + working set", sizes["boot_result"] + work),
        ("a flash device (otk_flash_t)", sizes["flash"]),
        ("a whole device (otk_device_t: 4 handles, boot, table)", sizes["device"]),
    ]:
        print(f"  {label:<56}{value:>7}")


def main():
    build = sys.argv[1]
    variants = [v for v in ("lean", "text") if os.path.exists(os.path.join(build, v, "example.map"))]
    maps = {v: sizes_from_map(os.path.join(build, v, "example.map")) for v in variants}
    totals = print_layers(maps)
    # The targets bind the lean build (the one a bootloader ships); the text build's
    # numbers show what the messages cost.
    ok = "lean" in totals and totals["lean"]["text"] <= CORE_TEXT_LIMIT
    for v in variants:
        print()
        print(f"[{v}] ", end="")
        print_ram(type_sizes(build, v))
        frames, edges, files = stack_report.load(os.path.join(build, v))
        print(f"[{v}] Stack, worst path from -fstack-usage + -fcallgraph-info "
              f"(library routines counted as {stack_report.LIBRARY_FRAME} bytes each):")
        for label, root in ROOTS:
            total, path = stack_report.worst(root, frames, edges, files)
            deepest = " > ".join(n.split(":")[-1] for n, _ in path[:6])
            print(f"  {label:<40}{total:>6}  {deepest}{' > ...' if len(path) > 6 else ''}")
            if root == "otk_boot_run_with":
                within = total <= BOOT_STACK_LIMIT
                print(f"  {'':<40}{'':>6}  ({'within' if within else 'OVER'} the "
                      f"{BOOT_STACK_LIMIT}-byte boot stack target)")
                # The targets are the lean build's; the text build's numbers are reported.
                ok = ok and (within or v != "lean")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
