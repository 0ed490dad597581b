#!/usr/bin/python3
"""otakit_push.py: update a running device over otakit's control path, from Python.

    otakit_push.py --device URI [--token T] [--chunk N] [--window N] [--json] IMAGE
    otakit_push.py status|confirm|rollback|reboot|abort --device URI [--token T] [--json]

Like ESP-Hosted's Python OTA demo (begin, a loop of writes, end), against otakit's protocol
(docs/protocol.md): pipelined writes with offsets and CRCs, resume after a dropped link,
activate, wait for the reboot, and check that the device runs the pushed image.
Exit: 0 done; 1 refused or failed (the reason is printed); 2 wrong arguments.
"""

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from otakit_host import (Client, OtakitError,  # noqa: E402
                         session_state_name, slot_state_name)

COMMANDS = ("status", "confirm", "rollback", "reboot", "abort")
KIB = 1024


def count(lo, hi):
    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError("expected %d..%d" % (lo, hi))
        return v
    return parse


def app_dict(app, full=False):
    if app is None:
        return None
    d = {"project_name": app.project_name, "version": app.version}
    if full:
        d["idf_ver"] = app.idf_ver
    d["secure_version"] = app.secure_version
    d["elf_sha256"] = app.elf_sha256.hex()
    return d


def status_dict(st):
    """StatusReply as the C tool's `otakit device status --json` writes it."""
    d = {"chip": st.chip, "power_ons": st.power_ons, "boot_id": st.boot_id,
         "running_slot": st.running_slot,
         "running": app_dict(st.running, True) if st.HasField("running") else None,
         "slots": []}
    for s in st.slots:
        d["slots"].append({"label": s.label, "address": s.address, "size": s.size,
                           "state": slot_state_name(s.state), "running": s.running,
                           "boots_next": s.boots_next,
                           "app": app_dict(s.app, True) if s.HasField("app") else None})
    se = st.session
    sess = {"state": session_state_name(se.state)}
    if se.state != 0:
        sess.update({"sha256": se.sha256.hex(), "image_size": se.image_size,
                     "received": se.received, "next_offset": se.next_offset, "slot": se.slot,
                     "chunk_size": se.chunk_size, "duplicates": se.duplicates,
                     "gaps": se.gaps, "last_esp_err": se.last_esp_err,
                     "last_message": se.last_message})
    d["session"] = sess
    lk = st.link
    d["link"] = {"frames_ok": lk.frames_ok, "frames_dropped": lk.frames_dropped,
                 "bytes_discarded": lk.bytes_discarded, "bad_messages": lk.bad_messages,
                 "busy_refusals": lk.busy_refusals, "auth_failures": lk.auth_failures}
    return d


def print_status(uri, hello, st):
    print("device %s: %s, power-on %d" % (uri, hello.device, st.power_ons))
    run = st.running if st.HasField("running") else None
    print("running: %s %s %s" % (st.running_slot or "nothing", run.project_name if run else "",
                                 run.version if run else ""))
    print("  #  %-10s %-10s %-9s %-15s %s" % ("slot", "address", "size", "otadata", "app"))
    for i, s in enumerate(st.slots):
        app = "%s %s" % (s.app.project_name, s.app.version) if s.HasField("app") else "(no app)"
        print("  %d  %-10s 0x%08x %-9d %-15s %s%s%s" % (
            i, s.label, s.address, s.size, slot_state_name(s.state), app,
            "  [running]" if s.running else "", "  [boots next]" if s.boots_next else ""))
    se = st.session
    if se.state == 0:
        print("session: none")
    else:
        print("session: %s, %d of %d bytes in %s (image %s...), next offset %d%s%s" % (
            session_state_name(se.state), se.received, se.image_size, se.slot,
            se.sha256[:8].hex(), se.next_offset, "; " if se.last_message else "",
            se.last_message))
    lk = st.link
    print("link: %d frames, %d dropped, %d bytes discarded, %d busy refusals, %d auth failures"
          % (lk.frames_ok, lk.frames_dropped, lk.bytes_discarded, lk.busy_refusals,
             lk.auth_failures))


def error_fields(e):
    return {"err": e.name, "code": e.code, "esp_err": e.esp_err, "reason": e.message}


def run_command(args):
    c = Client(args.device, token=args.token, timeout=args.timeout, name="otakit_push.py")
    out = {"command": args.command, "device": args.device}
    st = None
    try:
        if args.command == "status":
            st = c.status()
        else:
            c.connect()
            before = c.hello_info.boot_id
            if args.command == "confirm":
                c.confirm()
            elif args.command == "abort":
                c.abort()
            else:
                getattr(c, args.command)()  # rollback, reboot
                if not args.no_wait:
                    c.wait_reboot(before)
                    st = c.status()
        err = None
    except OtakitError as e:
        err = e
    finally:
        c.close()
    if args.json:
        out["ok"] = err is None
        out["err"] = "OK" if err is None else err.name
        out["esp_err"] = c.last_esp_err if err is None else err.esp_err
        if err is not None:
            out["reason"] = err.message
        elif st is not None:
            out.update(status_dict(st))
        print(json.dumps(out, indent=2))
    elif err is None and args.command == "status":
        print_status(args.device, c.hello_info, st)
    elif err is None:
        run = st.running if st is not None and st.HasField("running") else None
        print("%s: done%s" % (args.command, "; rebooted: runs %s %s from %s" % (
            run.project_name, run.version, st.running_slot) if run else ""))
    if err is not None:
        print("otakit_push.py: %s --device %s: %s" % (args.command, args.device, err),
              file=sys.stderr)
        return 1
    return 0


class Bar:
    """Progress to stderr: a bar on a terminal, notes about resumes and retries."""

    def __init__(self, quiet):
        self.tty = not quiet and sys.stderr.isatty()
        self.quiet = quiet
        self.slot = ""

    def __call__(self, p):
        if self.quiet:
            return
        nl = "\n" if self.tty else ""
        if p.event == "write" and self.tty:
            fill = p.acked * 30 // p.size
            sys.stderr.write("\r%s [%s%s] %3d%% %d/%d KiB" % (
                self.slot, "#" * fill, "." * (30 - fill), p.acked * 100 // p.size,
                (p.acked + KIB - 1) // KIB, (p.size + KIB - 1) // KIB))
            if p.acked == p.size:
                sys.stderr.write("\n")
        elif p.event == "begin":
            self.slot = p.detail.split(":")[0]
            if "resumed" in p.detail:
                sys.stderr.write("%snote: %s\n" % (nl, p.detail))
        elif p.event in ("reconnect", "retry"):
            sys.stderr.write("%snote: %s at %d of %d bytes: %s\n" % (
                nl, p.event, p.acked, p.size, p.detail or ""))
        sys.stderr.flush()


def run_push(args):
    try:
        with open(args.image, "rb") as f:
            image = f.read()
    except OSError as e:
        print("otakit_push.py: %s: %s" % (args.image, e.strerror), file=sys.stderr)
        return 1
    c = Client(args.device, token=args.token, timeout=args.timeout, name="otakit_push.py",
               baud=args.baud, drop_at=args.drop_at)
    err, r = None, None
    try:
        r = c.push(image, chunk=args.chunk, window=args.window, activate=not args.no_activate,
                   progress=Bar(args.json), retries=args.retries)
    except OtakitError as e:
        err = e
        r = getattr(e, "push_result", None)
    finally:
        c.close()
    if args.json:
        d = {"ok": err is None, "device": args.device, "source": args.image, "size": len(image),
             "sha256": hashlib.sha256(image).hexdigest()}
        if err is not None:
            d.update(error_fields(err))
        print(json.dumps(d, indent=2) if r is None else json.dumps(dict(d, **push_dict(r)),
                                                                    indent=2))
    elif err is None:
        rate = r.size / r.transfer_s if r.transfer_s > 0 else 0
        print("%s <- %s: %s %s, %d bytes verified in %.2f s (%.0f KiB/s; %d-byte chunks, "
              "window %d)" % (r.slot, args.image, r.image.project_name, r.image.version,
                              r.size, r.transfer_s, rate / KIB, r.chunk, r.window))
        if r.resumed_from or r.resumes or r.timeouts or r.rewinds:
            print("  started at %d, resumed %d times (last at %d); %d links, %d timeouts, "
                  "%d rewinds, %d bytes sent" % (r.resumed_from, r.resumes, r.resumed_at,
                                                 r.connects, r.timeouts, r.rewinds,
                                                 r.bytes_sent))
        if r.rebooted:
            print("rebooted: runs %s %s from %s (%s)" % (
                r.running.project_name, r.running.version, r.running_slot,
                slot_state_name(r.running_state)))
        else:
            print("not activated (--no-activate): the device still runs its old app")
    if err is not None:
        print("otakit_push.py: push %s to %s: %s" % (args.image, args.device, err),
              file=sys.stderr)
        return 1
    return 0


def push_dict(r):
    return {"slot": r.slot, "chunk": r.chunk, "window": r.window,
            "resumed_from": r.resumed_from, "resumes": r.resumes, "resumed_at": r.resumed_at,
            "connects": r.connects, "timeouts": r.timeouts, "rewinds": r.rewinds,
            "writes": r.writes, "bytes_sent": r.bytes_sent,
            "transfer_us": int(r.transfer_s * 1e6), "image": app_dict(r.image),
            "activated": r.activated, "rebooted": r.rebooted, "running_slot": r.running_slot,
            "running": app_dict(r.running), "running_state": slot_state_name(r.running_state),
            "runs_image": r.runs_image}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS + ("push",) else "push"
    if argv and argv[0] == command:
        argv = argv[1:]
    p = argparse.ArgumentParser(
        prog="otakit_push.py" + ("" if command == "push" else " " + command),
        description="Push an app image to a running device (otakit-device --listen URI) "
                    "over otakit's control path, or ask it: %s." % ", ".join(COMMANDS),
        epilog="URI: unix:PATH, tcp://HOST:PORT (token required), serial:TTY[?baud=N]")
    p.add_argument("--device", required=True, metavar="URI")
    p.add_argument("--token", help="TCP's shared secret (default: $OTAKIT_TOKEN)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--timeout", type=count(10, 600000), default=2000, metavar="MS",
                   help="how long an answer may take before a request is sent again (2000)")
    if command == "push":
        p.add_argument("image", metavar="IMAGE")
        p.add_argument("--chunk", type=count(288, 16384), metavar="N",
                       help="bytes per write (default 4096, at most the device's max_chunk)")
        p.add_argument("--window", type=count(1, 64), metavar="N",
                       help="writes in flight (default: the device's window, 8)")
        p.add_argument("--no-activate", action="store_true",
                       help="stop after End: the image is verified on the device, not selected")
        p.add_argument("--retries", type=count(0, 1000), default=10, metavar="N",
                       help="reconnects in a row without progress before giving up (10)")
        p.add_argument("--baud", type=count(10, 100000000), metavar="N",
                       help="testing: send at a UART's pace (N/10 bytes/s) on any link")
        p.add_argument("--drop-at", type=count(1, 2**32), metavar="BYTES",
                       help="testing: cut the first link after BYTES bytes (sent + received)")
    elif command in ("rollback", "reboot"):
        p.add_argument("--no-wait", action="store_true",
                       help="do not wait for the device to come back")
    args = p.parse_args(argv)
    args.no_wait = getattr(args, "no_wait", False)
    args.command = command
    args.timeout /= 1000.0
    try:
        return run_push(args) if command == "push" else run_command(args)
    except OtakitError as e:  # a bad URI, the .proto not found
        print("otakit_push.py: %s" % e, file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print("otakit_push.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
