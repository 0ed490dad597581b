/* The control path between a host and a device (docs/protocol.md): ESP-Hosted's
 * ota_begin / ota_write / ota_end shape, made resumable, pipelined and honest about
 * errors. The parts:
 *
 *   otakit/hosted_proto.h   what both ends share: version, limits, result codes
 *   otakit/hosted_frame.h   frames over a byte stream (resync, length limit, CRC-32)
 *   otakit/hosted_link.h    transports: unix, tcp, serial tty, pty; rate limit; faults
 *   otakit/hosted_device.h  the device side: the session state machine and its server
 *   otakit/hosted_client.h  the host side: one call per request, and push
 *
 * The messages are src/hosted/otakit_ctrl.proto, compiled by protobuf-c. */
#ifndef OTAKIT_HOSTED_H
#define OTAKIT_HOSTED_H

#include "otakit/hosted_client.h"
#include "otakit/hosted_device.h"
#include "otakit/hosted_frame.h"
#include "otakit/hosted_link.h"
#include "otakit/hosted_proto.h"

#endif
