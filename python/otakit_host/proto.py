"""The control path's messages, built at run time from src/hosted/otakit_ctrl.proto.

No generated code: a small reader turns the .proto into a FileDescriptorProto
(google.protobuf.descriptor_pb2), a private DescriptorPool takes it, and the message
classes come from the message factory. So the one .proto the C side compiles with
protobuf-c is also the Python side's only definition (nothing to regenerate, nothing to
drift), and only the protobuf runtime is needed (Debian's python3-protobuf; no protoc,
whose generated code is tied to the runtime's version). The tests check that the reader
produces the same descriptor as protoc when protoc is installed.

The reader takes the subset of proto3 a wire protocol needs: syntax, package, messages
(nested too), enums, scalar / message / enum fields, repeated, oneof, reserved, and
options (ignored: none of them changes the wire format this reader produces). Anything
else (imports, maps, proto3 `optional`, field options, groups, extensions, services) is
refused with the line it is on, rather than guessed at.
"""

import os
import re

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    "double": _F.TYPE_DOUBLE, "float": _F.TYPE_FLOAT, "int64": _F.TYPE_INT64,
    "uint64": _F.TYPE_UINT64, "int32": _F.TYPE_INT32, "fixed64": _F.TYPE_FIXED64,
    "fixed32": _F.TYPE_FIXED32, "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES, "uint32": _F.TYPE_UINT32, "sfixed32": _F.TYPE_SFIXED32,
    "sfixed64": _F.TYPE_SFIXED64, "sint32": _F.TYPE_SINT32, "sint64": _F.TYPE_SINT64,
}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<num>-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?))
  | (?P<id>\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<sym>[{}\[\]()=;<>,:])
""", re.S | re.X)

_UNSUPPORTED = {
    "import": "imports", "map": "map fields", "optional": "proto3 'optional' fields",
    "required": "'required' (proto2)", "group": "groups", "extend": "extensions",
    "extensions": "extensions", "service": "services",
}


class ProtoSyntaxError(ValueError):
    pass


def _tokens(text, path):
    out = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ProtoSyntaxError("%s:%d: unexpected character %r" % (path, line, text[pos]))
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group(), line))
        line += m.group().count("\n")
        pos = m.end()
    return out


def _json_name(name):
    """protoc's json_name: underscores dropped, the letter after one capitalised."""
    out, upper = [], False
    for ch in name:
        if ch == "_":
            upper = True
        elif upper:
            out.append(ch.upper())
            upper = False
        else:
            out.append(ch)
    return "".join(out)


class _Reader:
    def __init__(self, text, path):
        self.path = path
        self.toks = _tokens(text, path)
        self.i = 0
        # (field proto, scope, type name as written, line): resolved once all types are known
        self.refs = []
        self.types = {}  # full name (".pkg.Msg") -> "message" | "enum"

    # ---- tokens ------------------------------------------------------------------------
    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "", self._last_line())

    def _last_line(self):
        return self.toks[-1][2] if self.toks else 1

    def fail(self, what, tok=None):
        tok = tok or self.peek()
        raise ProtoSyntaxError("%s:%d: %s (at %r)" % (self.path, tok[2], what, tok[1]))

    def take(self, value=None, kind=None):
        tok = self.peek()
        if tok[0] == "eof" or (value is not None and tok[1] != value) or \
                (kind is not None and tok[0] != kind):
            self.fail("expected %s" % (repr(value) if value else kind), tok)
        self.i += 1
        return tok

    def accept(self, value):
        if self.peek()[1] == value and self.peek()[0] in ("sym", "id"):
            self.i += 1
            return True
        return False

    def ident(self):
        return self.take(kind="id")[1]

    def number(self):
        tok = self.take(kind="num")
        try:
            return int(tok[1], 0)
        except ValueError:
            self.fail("expected an integer", tok)

    def refuse_unsupported(self):
        tok = self.peek()
        if tok[0] == "id" and tok[1] in _UNSUPPORTED:
            self.fail("%s are not supported by this reader" % _UNSUPPORTED[tok[1]], tok)

    def skip_statement(self):
        """An option or reserved statement: up to its ';' (options may hold { } blocks)."""
        depth = 0
        while True:
            tok = self.take()
            if tok[1] == "{" and tok[0] == "sym":
                depth += 1
            elif tok[1] == "}" and tok[0] == "sym":
                depth -= 1
            elif tok[1] == ";" and tok[0] == "sym" and depth == 0:
                return

    # ---- grammar -----------------------------------------------------------------------
    def file(self, name):
        fd = descriptor_pb2.FileDescriptorProto(name=name)
        if self.accept("syntax"):
            self.take("=")
            syntax = self.take(kind="str")[1][1:-1]
            if syntax != "proto3":
                self.fail("only proto3 is supported")
            self.take(";")
            fd.syntax = "proto3"
        else:
            self.fail("expected syntax = \"proto3\";")
        prefix = ""
        while self.peek()[0] != "eof":
            if self.accept(";"):
                continue
            self.refuse_unsupported()
            if self.accept("package"):
                fd.package = self.ident()
                prefix = "." + fd.package
                self.take(";")
            elif self.accept("option"):
                self.skip_statement()
            elif self.accept("message"):
                self.message(fd.message_type.add(), prefix)
            elif self.accept("enum"):
                self.enum(fd.enum_type.add(), prefix)
            else:
                self.fail("expected message, enum, package or option")
        self.resolve()
        return fd

    def declare(self, full, kind, tok):
        if full in self.types:
            self.fail("%s is defined twice" % full[1:], tok)
        self.types[full] = kind

    def message(self, msg, scope):
        tok = self.peek()
        msg.name = self.ident()
        full = scope + "." + msg.name
        self.declare(full, "message", tok)
        self.take("{")
        while not self.accept("}"):
            if self.accept(";"):
                continue
            self.refuse_unsupported()
            if self.accept("message"):
                self.message(msg.nested_type.add(), full)
            elif self.accept("enum"):
                self.enum(msg.enum_type.add(), full)
            elif self.accept("oneof"):
                index = len(msg.oneof_decl)
                msg.oneof_decl.add(name=self.ident())
                self.take("{")
                while not self.accept("}"):
                    if self.accept(";"):
                        continue
                    if self.accept("option"):
                        self.skip_statement()
                        continue
                    self.refuse_unsupported()
                    if self.peek()[1] == "repeated":
                        self.fail("a oneof cannot hold a repeated field")
                    self.field(msg.field.add(), full, oneof=index)
            elif self.accept("reserved") or self.accept("option"):
                self.skip_statement()
            else:
                self.field(msg.field.add(), full)

    def field(self, f, scope, oneof=None):
        f.label = _F.LABEL_REPEATED if self.accept("repeated") else _F.LABEL_OPTIONAL
        self.refuse_unsupported()
        type_tok = self.take(kind="id")
        f.name = self.ident()
        self.take("=")
        f.number = self.number()
        if not 1 <= f.number <= 536870911 or 19000 <= f.number <= 19999:
            self.fail("field number %d is out of range" % f.number)
        if self.peek()[1] == "[":
            self.fail("field options are not supported by this reader")
        self.take(";")
        f.json_name = _json_name(f.name)
        if oneof is not None:
            f.oneof_index = oneof
        if type_tok[1] in SCALARS:
            f.type = SCALARS[type_tok[1]]
        else:
            self.refs.append((f, scope, type_tok))

    def enum(self, en, scope):
        tok = self.peek()
        en.name = self.ident()
        self.declare(scope + "." + en.name, "enum", tok)
        self.take("{")
        while not self.accept("}"):
            if self.accept(";"):
                continue
            if self.accept("option") or self.accept("reserved"):
                self.skip_statement()
                continue
            name = self.ident()
            self.take("=")
            number = self.number()
            if self.peek()[1] == "[":
                self.fail("enum value options are not supported by this reader")
            self.take(";")
            en.value.add(name=name, number=number)
        if not en.value or en.value[0].number != 0:
            self.fail("a proto3 enum's first value must be 0", tok)

    def resolve(self):
        """Name lookup as protoc does it: innermost scope first, outwards."""
        for f, scope, tok in self.refs:
            name = tok[1]
            found = None
            if name.startswith("."):
                found = name if name in self.types else None
            else:
                parts = scope.split(".")
                for n in range(len(parts), 0, -1):
                    cand = ".".join(parts[:n]) + "." + name
                    if cand in self.types:
                        found = cand
                        break
            if found is None:
                self.fail("unknown type %s" % name, tok)
            f.type_name = found
            f.type = _F.TYPE_MESSAGE if self.types[found] == "message" else _F.TYPE_ENUM


def parse_proto(text, name="otakit_ctrl.proto", path=None):
    """A FileDescriptorProto for the .proto source text."""
    return _Reader(text, path or name).file(name)


def default_proto_path():
    """$OTAKIT_PROTO, else src/hosted/otakit_ctrl.proto of the repository this package
    sits in (python/otakit_host/ -> ../../src/hosted/)."""
    env = os.environ.get("OTAKIT_PROTO")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, os.pardir, os.pardir, "src", "hosted", "otakit_ctrl.proto")


def _message_class(pool, desc):
    get = getattr(message_factory, "GetMessageClass", None)  # protobuf >= 4.22
    if get is not None:
        return get(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)  # 3.x / 4.21 (bookworm)


class Messages:
    """The message classes (Request, Response, Hello, ...) and enums (Result, SlotState,
    SessionState: name -> number dicts, with .name_of(number))."""

    def __init__(self, fdp):
        self.file_descriptor_proto = fdp
        self.pool = descriptor_pool.DescriptorPool()
        self.pool.AddSerializedFile(fdp.SerializeToString())
        pkg = fdp.package + "." if fdp.package else ""
        for m in fdp.message_type:
            setattr(self, m.name, _message_class(self.pool, self.pool.FindMessageTypeByName(pkg + m.name)))
        for e in fdp.enum_type:
            setattr(self, e.name, _Enum(self.pool.FindEnumTypeByName(pkg + e.name)))


class _Enum(dict):
    def __init__(self, desc):
        super().__init__((v.name, v.number) for v in desc.values)
        self._names = {v.number: v.name for v in desc.values}

    def name_of(self, number):
        return self._names.get(number, str(number))


_cache = {}


def load(path=None):
    """The Messages of the .proto at path (default_proto_path()), read once."""
    path = os.path.abspath(path or default_proto_path())
    if path not in _cache:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise FileNotFoundError(
                "otakit_host needs the control path's messages, %s: %s (set OTAKIT_PROTO "
                "to src/hosted/otakit_ctrl.proto)" % (path, e.strerror)) from e
        _cache[path] = Messages(parse_proto(text, os.path.basename(path), path))
    return _cache[path]
