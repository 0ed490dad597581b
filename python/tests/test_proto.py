"""The messages built at run time from src/hosted/otakit_ctrl.proto: the same descriptor
protoc makes (when protoc is installed), the documented byte examples, the Auth test
vector, and what the .proto reader refuses."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from google.protobuf import descriptor_pb2  # noqa: E402

from otakit_host import auth_mac, proto  # noqa: E402
from otakit_host.link import parse_uri  # noqa: E402
from otakit_host.errors import LocalError  # noqa: E402

PROTO = proto.default_proto_path()


class Reader(unittest.TestCase):
    @unittest.skipIf(shutil.which("protoc") is None, "protoc is not installed")
    def test_same_descriptor_as_protoc(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "set.pb")
            subprocess.run(["protoc", "-I", os.path.dirname(PROTO), "--descriptor_set_out=" + out,
                            os.path.basename(PROTO)], check=True)
            fds = descriptor_pb2.FileDescriptorSet()
            with open(out, "rb") as f:
                fds.ParseFromString(f.read())
        want = fds.file[0]
        got = proto.load().file_descriptor_proto
        self.assertEqual(got, want, "the reader and protoc disagree on %s" % PROTO)

    @unittest.skipIf(shutil.which("protoc") is None, "protoc is not installed")
    def test_generated_module_agrees_on_the_wire(self):
        # protoc --python_out, as another client might do it: the bytes are the same.
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["protoc", "-I", os.path.dirname(PROTO), "--python_out=" + tmp,
                            os.path.basename(PROTO)], check=True)
            code = subprocess.run(
                [sys.executable, "-c",
                 "import otakit_ctrl_pb2 as m; import sys; sys.stdout.buffer.write("
                 "m.Request(id=7, begin=m.Begin(image_size=70336, sha256=bytes(range(32)), "
                 "chunk_size=4096)).SerializeToString())"],
                cwd=tmp, check=True, capture_output=True).stdout
        m = proto.load()
        ours = m.Request(id=7, begin=m.Begin(image_size=70336, sha256=bytes(range(32)),
                                             chunk_size=4096)).SerializeToString()
        self.assertEqual(ours, code)

    def test_refuses_what_it_does_not_know(self):
        for src, why in (
                ('syntax = "proto2";', "only proto3"),
                ('syntax = "proto3"; import "x.proto";', "imports"),
                ('syntax = "proto3"; message A { map<string, int32> m = 1; }', "map"),
                ('syntax = "proto3"; message A { optional int32 x = 1; }', "optional"),
                ('syntax = "proto3"; message A { int32 x = 1 [packed = false]; }', "field options"),
                ('syntax = "proto3"; message A { Missing x = 1; }', "unknown type Missing"),
                ('syntax = "proto3"; enum E { A = 1; }', "first value must be 0"),
                ('syntax = "proto3"; message A { int32 x = 0; }', "out of range"),
                ('syntax = "proto3"; message A {} message A {}', "defined twice"),
                ('syntax = "proto3"; message A { int32 x = 1 }', "expected ';'")):
            with self.assertRaisesRegex(proto.ProtoSyntaxError, why, msg=src):
                proto.parse_proto(src)

    def test_nested_and_scoped_names(self):
        fd = proto.parse_proto("""
            syntax = "proto3";  /* block
            comment */ package p.q;
            option java_package = "x";
            message Outer {
                message Inner { int32 a = 1; }
                enum Kind { KIND_NONE = 0; KIND_ONE = 1; }
                Inner inner = 1;   // resolved inside Outer first
                Kind kind = 2;
                repeated Other others = 3;
                reserved 4, 5;
            }
            message Other { Outer.Inner deep = 1; .p.q.Outer outer = 2; }
        """)
        f = {x.name: x for x in fd.message_type[0].field}
        self.assertEqual(f["inner"].type_name, ".p.q.Outer.Inner")
        self.assertEqual(f["kind"].type_name, ".p.q.Outer.Kind")
        self.assertEqual(f["others"].label, descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
        g = {x.name: x for x in fd.message_type[1].field}
        self.assertEqual(g["deep"].type_name, ".p.q.Outer.Inner")
        self.assertEqual(g["outer"].type_name, ".p.q.Outer")


class Wire(unittest.TestCase):
    def setUp(self):
        self.m = proto.load()

    def test_doc_example_hello(self):
        q = self.m.Request(id=1, hello=self.m.Hello(protocol=1, client="py"))
        self.assertEqual(q.SerializeToString(), bytes.fromhex("08011206080112027079"))

    def test_oneof_and_defaults(self):
        r = self.m.Response()
        r.ParseFromString(bytes.fromhex("0801" "1005" "3a03" "08a00b"))
        self.assertEqual(r.id, 1)
        self.assertEqual(r.result, self.m.Result["RESULT_GAP"])
        self.assertEqual(r.WhichOneof("body"), "write")
        self.assertEqual(r.write.next_offset, 1440)
        self.assertEqual(self.m.Result.name_of(9), "RESULT_IMAGE_REJECTED")
        self.assertEqual(self.m.SessionState["SESSION_SUSPENDED"], 2)

    def test_auth_vector(self):
        mac = auth_mac("s3cret", bytes(range(16)))
        self.assertEqual(mac.hex(),
                         "36370f18cde58471684d656fdacd41af3b97195ab1d497733ef0916a454ca497")


class Uris(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(str(parse_uri("unix:/tmp/d.sock")), "unix:/tmp/d.sock")
        self.assertEqual(parse_uri("unix:///tmp/d.sock").path, "/tmp/d.sock")
        u = parse_uri("tcp://127.0.0.1:4000")
        self.assertEqual((u.kind, u.host, u.port), ("tcp", "127.0.0.1", 4000))
        self.assertEqual(parse_uri("tcp://[::1]:9").host, "::1")
        self.assertEqual(str(parse_uri("tcp://:9")), "tcp://127.0.0.1:9")
        u = parse_uri("serial:/dev/pts/3?baud=921600")
        self.assertEqual((u.kind, u.path, u.baud), ("serial", "/dev/pts/3", 921600))

    def test_refused(self):
        for bad in ("pty", "nowhere:x", "tcp://host", "tcp://h:70000", "serial:/dev/x?speed=1",
                    "serial:/dev/x?baud=5", "unix:"):
            with self.assertRaises(LocalError, msg=bad):
                parse_uri(bad)


if __name__ == "__main__":
    unittest.main()
