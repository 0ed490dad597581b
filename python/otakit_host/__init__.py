"""otakit_host: the Python host client of otakit's control path (docs/protocol.md).

    from otakit_host import Client
    with Client("unix:/tmp/dev.sock") as c:
        result = c.push(open("v2.bin", "rb").read())
        print(result.running.version, c.status().running_slot)

The messages are built at run time from src/hosted/otakit_ctrl.proto (see proto.py);
the framing is frame.py, the transports link.py.
"""

from .client import (Client, Progress, PushResult, auth_mac, session_state_name,
                     slot_state_name)
from .errors import (AnswerTimeout, DeviceError, LinkError, LocalError, OtakitError,
                     ProtocolError, result_name)
from .frame import Decoder, crc32, encode
from .link import parse_uri
from .proto import load as load_messages

__all__ = [
    "Client", "Progress", "PushResult", "auth_mac", "session_state_name", "slot_state_name",
    "AnswerTimeout", "DeviceError", "LinkError", "LocalError", "OtakitError", "ProtocolError",
    "result_name", "Decoder", "crc32", "encode", "parse_uri", "load_messages",
]
