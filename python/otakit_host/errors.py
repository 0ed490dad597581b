"""What a call raises. Every error carries a code: 0..12 are the protocol's Result values
(the device answered so), 100 and up happen on the host, as in the C client
(include/otakit/hosted_proto.h)."""

RESULT_NAMES = {
    0: "OK", 1: "BAD_REQUEST", 2: "BAD_STATE", 3: "BUSY", 4: "UNAUTHENTICATED", 5: "GAP",
    6: "CRC_MISMATCH", 7: "CONFLICT", 8: "OVERRUN", 9: "IMAGE_REJECTED", 10: "FLASH_ERROR",
    11: "UNSUPPORTED", 12: "FAILED",
    100: "LINK", 101: "TIMEOUT", 102: "PROTOCOL", 103: "LOCAL",
}
OK, BAD_REQUEST, BAD_STATE, BUSY, UNAUTHENTICATED, GAP, CRC_MISMATCH, CONFLICT, OVERRUN, \
    IMAGE_REJECTED, FLASH_ERROR, UNSUPPORTED, FAILED = range(13)
ERR_LINK, ERR_TIMEOUT, ERR_PROTOCOL, ERR_LOCAL = 100, 101, 102, 103


def result_name(code):
    return RESULT_NAMES.get(code, "RESULT_%d" % code)


class OtakitError(Exception):
    """code: a Result (the device said so) or ERR_*; name: its name ("IMAGE_REJECTED");
    message: the device's one line (or what happened on the link); esp_err: the esp_err_t
    behind it (0 when none)."""

    def __init__(self, code, message, esp_err=0):
        self.code = code
        self.name = result_name(code)
        self.message = message
        self.esp_err = esp_err
        super().__init__("%s: %s" % (self.name, message))


class DeviceError(OtakitError):
    """The device answered with a Result other than OK. response: the whole Response
    (a GAP's WriteReply says where to continue: response.write.next_offset)."""

    def __init__(self, response):
        super().__init__(response.result, response.message or result_name(response.result),
                         response.esp_err)
        self.response = response


class LinkError(OtakitError):
    """Cannot connect, or the link went down."""

    def __init__(self, message):
        super().__init__(ERR_LINK, message)


class AnswerTimeout(OtakitError):
    """No answer in time (after the retries)."""

    def __init__(self, message):
        super().__init__(ERR_TIMEOUT, message)


class ProtocolError(OtakitError):
    """An answer that is not what the request calls for."""

    def __init__(self, message):
        super().__init__(ERR_PROTOCOL, message)


class LocalError(OtakitError):
    """A problem on the host: a bad URI, an image that cannot be pushed."""

    def __init__(self, message):
        super().__init__(ERR_LOCAL, message)
