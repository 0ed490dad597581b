/* Transports of the control path: where the frames travel (docs/protocol.md, "Transports").
 *
 *   unix:PATH                   a Unix stream socket
 *   tcp://HOST:PORT             TCP; the device binds 127.0.0.1 unless told otherwise, and
 *                               requires a shared-secret token (Hello + Auth)
 *   serial:/dev/ttyX[?baud=N]   a tty (a real UART, or one end of a pty pair)
 *   pty[?baud=N]                device side only: create a pty pair, serve the master end,
 *                               and tell the slave's path for the host (serial:/dev/pts/N)
 *
 * ?baud=N models a UART: each side sends at most N/10 bytes per second (8N1: ten bit
 * times per byte), e.g. baud=921600 gives 92,160 bytes/s in each direction.
 *
 * A host opens a link (otk_link_open); a device listens (otk_listener_open). A link is a
 * struct of operations so that wrappers can sit on top: the fault injector
 * (otk_link_fault_wrap) drops the link, flips bits, inserts garbage, duplicates and
 * reorders frames, all drawn from a seed so a failing run replays. */
#ifndef OTAKIT_HOSTED_LINK_H
#define OTAKIT_HOSTED_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_err.h"
#include "otakit/diag.h"
#include "otakit/rand.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OTK_LINK_UNIX,
    OTK_LINK_TCP,
    OTK_LINK_SERIAL,
    OTK_LINK_PTY,
} otk_link_kind_t;

/* Longest path a URI may name: what a Unix socket address holds (sun_path is 108 bytes
 * with its NUL) is the tightest limit; tty paths are far shorter. */
#define OTK_LINK_PATH_MAX 108u
#define OTK_LINK_HOST_MAX 64u
/* The longest URI otk_link_uri_format writes. */
#define OTK_LINK_URI_MAX (OTK_LINK_PATH_MAX + 32u)
/* Where a TCP device listens when the URI names no host. */
#define OTK_LINK_TCP_DEFAULT_HOST "127.0.0.1"

typedef struct {
    otk_link_kind_t kind;
    char path[OTK_LINK_PATH_MAX];   /* unix, serial */
    char host[OTK_LINK_HOST_MAX];   /* tcp (empty: OTK_LINK_TCP_DEFAULT_HOST) */
    uint16_t port;                  /* tcp; 0 on a device: pick a free port */
    uint32_t baud;                  /* serial, pty: 0 = no rate limit */
} otk_link_uri_t;

/* Parse one of the forms above. ESP_ERR_INVALID_ARG with diag saying what is wrong. */
esp_err_t otk_link_uri_parse(const char *text, otk_link_uri_t *uri, otk_diag_t *diag);
/* The URI as text (the canonical form of what was parsed). */
void otk_link_uri_format(const otk_link_uri_t *uri, char *out, size_t cap);
const char *otk_link_kind_name(otk_link_kind_t kind);

/* ---- rate limit (a UART) ---------------------------------------------------------------- */

typedef struct {
    uint32_t bytes_per_s; /* 0: unlimited */
    uint64_t t0_us;       /* when the budget started */
    uint64_t sent;        /* bytes sent since t0 */
} otk_link_rate_t;

/* baud 0: unlimited. */
void otk_link_rate_init(otk_link_rate_t *r, uint32_t baud);
/* How many bytes may go now (at most want). When 0, *wait_ms (may be NULL) says how long
 * until one may. */
size_t otk_link_rate_allow(otk_link_rate_t *r, size_t want, int *wait_ms);
/* n bytes went. */
void otk_link_rate_spent(otk_link_rate_t *r, size_t n);

/* Monotonic time in microseconds and milliseconds (CLOCK_MONOTONIC). */
uint64_t otk_link_now_us(void);
uint64_t otk_link_now_ms(void);

/* ---- a host's link ---------------------------------------------------------------------- */

typedef struct otk_link otk_link_t;

typedef struct {
    /* Read what has arrived, up to cap bytes, waiting at most timeout_ms for the first
     * byte (0: do not wait). Returns the count (> 0), 0 when nothing came in time, -1 when
     * the link is down (closed by the peer, an error, or dropped by a wrapper). */
    ssize_t (*read)(otk_link_t *link, void *buf, size_t cap, int timeout_ms);
    /* Send len bytes, waiting at most timeout_ms for room (and for the rate limit). Each
     * call carries one whole frame (wrappers rely on it). 0 when all went, -1 when the
     * link is down or the time ran out (errno ETIMEDOUT). */
    int (*write)(otk_link_t *link, const void *buf, size_t len, int timeout_ms);
    /* Release the link (and whatever it wraps). */
    void (*close)(otk_link_t *link);
} otk_link_ops_t;

struct otk_link {
    const otk_link_ops_t *ops;
    otk_link_kind_t kind;
    int fd;                 /* -1 for wrappers */
    otk_link_rate_t rate;   /* this side's sending rate */
    void *ctx;              /* the implementation's */
};

/* Connect to a device (unix, tcp) or open its tty (serial: raw mode, the baud set on a
 * real UART; input already queued is discarded). pty is a device-side form:
 * ESP_ERR_NOT_SUPPORTED. Errors with diag: ESP_ERR_NOT_FOUND (no such socket or tty),
 * ESP_FAIL (refused, unreachable, other OS errors). */
esp_err_t otk_link_open(const otk_link_uri_t *uri, otk_link_t **out, otk_diag_t *diag);

static inline ssize_t otk_link_read(otk_link_t *link, void *buf, size_t cap, int timeout_ms)
{
    return link->ops->read(link, buf, cap, timeout_ms);
}
static inline int otk_link_write(otk_link_t *link, const void *buf, size_t len, int timeout_ms)
{
    return link->ops->write(link, buf, len, timeout_ms);
}
static inline void otk_link_close(otk_link_t *link)
{
    if (link != NULL) {
        link->ops->close(link);
    }
}

/* ---- a device's listener ---------------------------------------------------------------- */

typedef struct otk_listener otk_listener_t;

/* unix: bind PATH (a stale socket file left by a dead device is replaced; a live one is
 * ESP_ERR_INVALID_STATE); tcp: bind and listen (port 0 picks a free one); serial: open
 * the tty; pty: create a pty pair. Errors with diag. */
esp_err_t otk_listener_open(const otk_link_uri_t *uri, otk_listener_t **out, otk_diag_t *diag);
/* The fd to poll: accept on it (unix, tcp), or the one stream itself (serial, pty). */
int otk_listener_fd(const otk_listener_t *l);
/* True for unix and tcp: connections come and go; false for serial and pty: one stream. */
bool otk_listener_accepts(const otk_listener_t *l);
/* Accept one pending connection (non-blocking fd) or -1. */
int otk_listener_accept(otk_listener_t *l, char *peer, size_t peer_cap);
/* Where hosts reach it: "unix:/tmp/d.sock", "tcp://127.0.0.1:40123",
 * "serial:/dev/pts/7?baud=921600" (a pty's slave end). */
const char *otk_listener_where(const otk_listener_t *l);
/* The sending rate of the stream (serial, pty) for the server's writes. */
uint32_t otk_listener_baud(const otk_listener_t *l);
/* Close; a unix socket's file is removed. */
void otk_listener_close(otk_listener_t *l);

/* ---- fault injection (tests) ------------------------------------------------------------ */

/* What to break, drawn from seed. Probabilities are per frame sent (flip, garbage, dup,
 * reorder) or per read (rx_flip). Written as "seed=7,drop=20000,flip=0.02,..." (see
 * otk_link_fault_parse). */
typedef struct {
    uint64_t seed;
    uint32_t drop;       /* every connection drops after a random 1..drop bytes (sent +
                            received); 0: never */
    uint32_t drop_at;    /* the first connection drops after exactly this many bytes */
    double flip;         /* a sent frame gets one bit flipped */
    double rx_flip;      /* a read gets one bit of what arrived flipped */
    double garbage;      /* 1..64 random bytes go out before a frame */
    double dup;          /* a frame is sent twice */
    double reorder;      /* a frame is held back and sent after the next one */
    uint32_t baud;       /* the host sends at this UART rate (slows a fast link down so a
                            test can act in the middle of a transfer); 0: as it is */
} otk_link_fault_spec_t;

/* Parse "key=value,..." with the keys above. ESP_ERR_INVALID_ARG with diag. */
esp_err_t otk_link_fault_parse(const char *text, otk_link_fault_spec_t *spec, otk_diag_t *diag);

/* What the injector did (across all the connections it wrapped). */
typedef struct {
    uint64_t connections;
    uint64_t drops;
    uint64_t flips;
    uint64_t rx_flips;
    uint64_t garbage;
    uint64_t dups;
    uint64_t reorders;
} otk_link_fault_stats_t;

/* The injector's state lives across connections (the seed's sequence, the counters). */
typedef struct {
    otk_link_fault_spec_t spec;
    otk_rand_t rng;
    otk_link_fault_stats_t stats;
} otk_link_fault_t;

void otk_link_fault_init(otk_link_fault_t *fault, const otk_link_fault_spec_t *spec);
/* Wrap a freshly opened link; the wrapper owns inner (closing it closes inner). NULL when
 * out of memory (inner is then closed). */
otk_link_t *otk_link_fault_wrap(otk_link_t *inner, otk_link_fault_t *fault);

#ifdef __cplusplus
}
#endif
#endif
