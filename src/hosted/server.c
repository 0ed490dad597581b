/* The device's server: one event loop (poll) over the transport, one host at a time.
 *
 * Sockets (unix, tcp): connections come and go. The first connection that sends a frame
 * holds the device until it closes; any other gets RESULT_BUSY for its request and is
 * closed. A connection silent for idle_timeout_ms is closed. Serial (a tty, a pty): one
 * stream that never closes; whoever writes to it is the host.
 *
 * Replies are queued per connection and written as the socket (and, on a serial line, the
 * UART's rate) allows, so a host that does not read cannot stall the loop. A reboot
 * (Activate, Rollback, Reboot) closes every socket connection, as a real board's reset
 * drops its links. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hosted_internal.h"

/* One host at work, one being told "busy", one reconnecting while the old link's close
 * is still on its way, one spare. */
#define SERVER_MAX_CONNS 4
/* Replies a host has not read, beyond which it is considered gone (the link is closed,
 * or on a serial line the replies are dropped): several windows of replies, far more
 * than a working host ever leaves unread. */
#define SERVER_OUT_MAX (256u * 1024u)
/* Bytes read from one connection per loop turn, so one busy link cannot starve another. */
#define SERVER_READ_BURST (64u * 1024u)
/* The loop wakes at least this often to look at the stop flag: a signal wakes it at
 * once, but a flag set by another thread (tests, an embedding program) is only seen then. */
#define SERVER_TICK_MS 100
/* How long a serial line that reported an error is left out of the loop. */
#define SERIAL_RETRY_MS 1000

typedef struct {
    int fd; /* -1: free */
    bool stream;
    bool owner;
    bool closing; /* close once the queued replies are out */
    char name[64];
    otk_hosted_peer_t peer;
    otk_frame_decoder_t dec;
    uint8_t *out;
    size_t out_len;
    size_t out_cap;
    otk_link_rate_t rate;
    uint64_t last_rx_ms;
    uint64_t partial_since_ms; /* 0: no frame half-received */
    uint64_t quiet_until_ms;   /* a serial line that failed is left alone until then */
    otk_frame_stats_t counted; /* decoder counts already added to the handler's */
    /* The decoder's buffer, read into directly (no copy): one read takes a whole burst (a
     * window of writes in one system call, not two per frame), and after the decoder has
     * taken every complete frame what it keeps is less than one frame, so a burst always
     * fits beside it. Last: conn_open clears what is before it. */
    uint8_t rx[SERVER_READ_BURST + OTK_FRAME_BUFFER_SIZE];
} conn_t;

typedef struct {
    otk_hosted_handler_t h;
    otk_listener_t *listener;
    const otk_hosted_serve_opts_t *opts;
    bool tcp;
    uint32_t stale_ms;
    conn_t conns[SERVER_MAX_CONNS];
    uint8_t reply[OTK_FRAME_BUFFER_SIZE];
    /* Where a link that is closing (told busy, refused) has what it still sends read and
     * dropped. */
    uint8_t discard[OTK_FRAME_BUFFER_SIZE];
} server_t;

static void conn_open(server_t *sv, conn_t *c, int fd, bool stream, const char *name)
{
    memset(c, 0, offsetof(conn_t, rx));
    c->fd = fd;
    c->stream = stream;
    snprintf(c->name, sizeof c->name, "%s", name);
    otk_hosted_peer_init(&c->peer, sv->tcp);
    otk_frame_decoder_init(&c->dec, c->rx, sizeof c->rx, OTK_FRAME_MAX_PAYLOAD);
    otk_link_rate_init(&c->rate, stream ? otk_listener_baud(sv->listener) : 0);
    c->last_rx_ms = otk_link_now_ms();
}

/* Add what the decoder counted since last time to the handler's link counters. */
static void count_stats(server_t *sv, conn_t *c)
{
    otk_frame_stats_t *d = &c->dec.stats;
    sv->h.link.frames_ok += d->frames - c->counted.frames;
    sv->h.link.frames_dropped += (d->bad_headers - c->counted.bad_headers) +
                                 (d->bad_payloads - c->counted.bad_payloads);
    sv->h.link.bytes_discarded += d->garbage_bytes - c->counted.garbage_bytes;
    c->counted = *d;
}

static void conn_close(server_t *sv, conn_t *c, const char *why)
{
    if (c->fd < 0) {
        return;
    }
    count_stats(sv, c);
    if (c->owner) {
        otk_hosted_handler_link_down(&sv->h, &c->peer);
    }
    if (c->owner || why != NULL) {
        hosted_log(&sv->h, 'I', "link down (%s)%s%s", c->name, why != NULL ? ": " : "",
                   why != NULL ? why : "");
    }
    if (!c->stream) {
        close(c->fd);
    }
    free(c->out);
    c->out = NULL;
    c->fd = -1;
}

static bool someone_owns(const server_t *sv)
{
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        if (sv->conns[i].fd >= 0 && sv->conns[i].owner) {
            return true;
        }
    }
    return false;
}

/* Queue one reply frame on c. */
static void queue(server_t *sv, conn_t *c, size_t payload_len)
{
    size_t n = otk_frame_seal(sv->reply, payload_len);
    if (c->out_len + n > SERVER_OUT_MAX) {
        if (c->stream) {
            c->out_len = 0; /* nobody reads the line: old replies are worthless */
        } else {
            c->closing = true;
            c->out_len = 0;
            return;
        }
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap != 0 ? c->out_cap : 4096u;
        while (cap < c->out_len + n) {
            cap *= 2;
        }
        uint8_t *grown = realloc(c->out, cap);
        if (grown == NULL) {
            c->closing = true;
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, sv->reply, n);
    c->out_len += n;
}

static void handle_frame(server_t *sv, conn_t *c, const uint8_t *payload, size_t len)
{
    uint8_t *body = sv->reply + OTK_FRAME_HEADER_LEN;
    size_t cap = OTK_FRAME_MAX_PAYLOAD;
    if (!c->owner && !c->stream) {
        if (someone_owns(sv)) {
            size_t n = otk_hosted_refuse_busy(&sv->h, payload, len, body, cap);
            hosted_log(&sv->h, 'W', "busy: %s refused, another host holds the device", c->name);
            queue(sv, c, n);
            c->closing = true;
            return;
        }
        c->owner = true;
        hosted_log(&sv->h, 'I', "link up (%s)", c->name);
    }
    bool close_after = false;
    size_t n = otk_hosted_handle(&sv->h, &c->peer, payload, len, otk_link_now_ms(), body, cap,
                                 &close_after);
    if (n > 0) {
        queue(sv, c, n);
    }
    if (close_after && !c->stream) {
        c->closing = true;
    }
}

/* Frames that are complete in c's decoder. */
static void drain_frames(server_t *sv, conn_t *c)
{
    const uint8_t *payload;
    size_t len;
    bool any = false;
    while (!c->closing && otk_frame_decoder_next(&c->dec, &payload, &len)) {
        handle_frame(sv, c, payload, len);
        any = true;
    }
    uint64_t now = otk_link_now_ms();
    if (!otk_frame_decoder_pending(&c->dec)) {
        c->partial_since_ms = 0;
    } else if (any || c->partial_since_ms == 0) {
        c->partial_since_ms = now;
    }
    count_stats(sv, c);
}

static void conn_read(server_t *sv, conn_t *c)
{
    size_t total = 0;
    while (total < SERVER_READ_BURST && c->fd >= 0) {
        size_t want = SERVER_READ_BURST - total;
        uint8_t *at;
        if (c->closing) {
            at = sv->discard;
            want = want < sizeof sv->discard ? want : sizeof sv->discard;
        } else {
            /* The decoder was drained, so there is room for a burst (c->rx's size). */
            size_t room = otk_frame_decoder_space(&c->dec, want, &at);
            want = want < room ? want : room;
        }
        ssize_t n = read(c->fd, at, want);
        if (n == 0 && !c->stream) {
            conn_close(sv, c, NULL);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return;
            }
            if (c->stream) {
                /* A tty that fails (an unplugged USB adapter) would make poll return at
                 * once, forever: look at it again later instead of spinning. */
                c->quiet_until_ms = otk_link_now_ms() + SERIAL_RETRY_MS;
                return;
            }
            conn_close(sv, c, strerror(errno));
            return;
        }
        if (n == 0) {
            return;
        }
        total += (size_t)n;
        c->last_rx_ms = otk_link_now_ms();
        if (c->closing) {
            continue; /* told busy or refused: what else it sends is not used */
        }
        /* A link that becomes closing here takes no frame after the one that closed it
         * (drain_frames stops there). */
        otk_frame_decoder_commit(&c->dec, (size_t)n);
        drain_frames(sv, c);
    }
}

static void conn_flush(conn_t *c)
{
    while (c->out_len > 0) {
        size_t allowed = otk_link_rate_allow(&c->rate, c->out_len, NULL);
        if (allowed == 0) {
            return;
        }
        ssize_t n = c->stream ? write(c->fd, c->out, allowed)
                              : send(c->fd, c->out, allowed, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                c->out_len = 0; /* the peer is gone: the read side will see it */
            }
            return;
        }
        otk_link_rate_spent(&c->rate, (size_t)n);
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
}

static void accept_new(server_t *sv)
{
    for (;;) {
        char name[64];
        int fd = otk_listener_accept(sv->listener, name, sizeof name);
        if (fd < 0) {
            return;
        }
        conn_t *c = NULL;
        for (int i = 0; i < SERVER_MAX_CONNS && c == NULL; i++) {
            if (sv->conns[i].fd < 0) {
                c = &sv->conns[i];
            }
        }
        if (c == NULL) {
            close(fd); /* a crowd: the host's connect sees the close and retries */
            continue;
        }
        conn_open(sv, c, fd, false, name);
    }
}

/* The poll timeout: the handler's reboot timer, idle and stale-frame deadlines, the rate
 * limit of pending replies, and SERVER_TICK_MS at most. */
static int next_timeout(server_t *sv, uint64_t now)
{
    int t = SERVER_TICK_MS;
    int ht = otk_hosted_handler_timeout(&sv->h, now);
    if (ht >= 0 && ht < t) {
        t = ht;
    }
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        conn_t *c = &sv->conns[i];
        if (c->fd < 0) {
            continue;
        }
        int wait = 0;
        if (c->out_len > 0 && otk_link_rate_allow(&c->rate, 1, &wait) == 0 && wait < t) {
            t = wait;
        }
        if (c->partial_since_ms != 0) {
            uint64_t due = c->partial_since_ms + sv->stale_ms;
            int left = due > now ? (int)(due - now) : 0;
            t = left < t ? left : t;
        }
    }
    return t;
}

static void check_timers(server_t *sv, uint64_t now)
{
    uint32_t idle = sv->opts->idle_timeout_ms;
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        conn_t *c = &sv->conns[i];
        if (c->fd < 0) {
            continue;
        }
        if (c->partial_since_ms != 0 && now - c->partial_since_ms >= sv->stale_ms) {
            otk_frame_decoder_expire(&c->dec); /* its tail was lost: hunt again */
            c->partial_since_ms = 0;
            drain_frames(sv, c);
        }
        if (!c->stream && idle != 0 && now - c->last_rx_ms >= idle) {
            conn_close(sv, c, "idle");
        } else if (c->closing && c->out_len == 0) {
            conn_close(sv, c, NULL);
        }
    }
}

/* After a reboot: every socket link drops; the serial stream starts over. */
static void after_reboot(server_t *sv)
{
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        conn_t *c = &sv->conns[i];
        if (c->fd < 0) {
            continue;
        }
        if (c->stream) {
            otk_frame_decoder_reset(&c->dec);
            otk_hosted_peer_init(&c->peer, false);
            c->out_len = 0;
        } else {
            c->owner = false; /* the session was saved before the reboot */
            conn_close(sv, c, "reboot");
        }
    }
}

static int build_pollset(server_t *sv, struct pollfd *pfd, conn_t **who)
{
    int n = 0;
    if (otk_listener_accepts(sv->listener)) {
        pfd[n] = (struct pollfd){.fd = otk_listener_fd(sv->listener), .events = POLLIN};
        who[n++] = NULL;
    }
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        conn_t *c = &sv->conns[i];
        if (c->fd < 0 || c->quiet_until_ms > otk_link_now_ms()) {
            continue;
        }
        short ev = POLLIN;
        if (c->out_len > 0 && otk_link_rate_allow(&c->rate, 1, NULL) > 0) {
            ev |= POLLOUT;
        }
        pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
        who[n++] = c;
    }
    return n;
}

static esp_err_t loop(server_t *sv)
{
    volatile sig_atomic_t *stop = sv->opts->stop;
    while (stop == NULL || *stop == 0) {
        struct pollfd pfd[SERVER_MAX_CONNS + 1];
        conn_t *who[SERVER_MAX_CONNS + 1];
        int n = build_pollset(sv, pfd, who);
        int ready = poll(pfd, (nfds_t)n, next_timeout(sv, otk_link_now_ms()));
        if (ready < 0 && errno != EINTR) {
            return ESP_FAIL;
        }
        bool listener_ready = false;
        /* Existing links first: a host that reconnects has closed its old link, and
         * that close must be seen before the new link asks for the device. */
        for (int i = 0; ready > 0 && i < n; i++) {
            if (who[i] == NULL) {
                listener_ready = (pfd[i].revents & POLLIN) != 0;
            } else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                conn_read(sv, who[i]);
            }
        }
        if (listener_ready) {
            accept_new(sv);
        }
        for (int i = 0; i < SERVER_MAX_CONNS; i++) {
            if (sv->conns[i].fd >= 0) {
                conn_flush(&sv->conns[i]);
            }
        }
        uint64_t now = otk_link_now_ms();
        if (otk_hosted_handler_tick(&sv->h, now)) {
            after_reboot(sv);
            if (sv->h.dead) {
                return ESP_ERR_NOT_FOUND;
            }
        }
        check_timers(sv, now);
    }
    return ESP_OK;
}

void otk_hosted_serve_opts_init(otk_hosted_serve_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    otk_hosted_handler_opts_init(&opts->handler);
    opts->idle_timeout_ms = OTK_HOSTED_IDLE_TIMEOUT_MS;
}

esp_err_t otk_hosted_serve(otk_device_run_t *run, const otk_hosted_serve_opts_t *opts,
                           otk_diag_t *diag)
{
    otk_link_uri_t uri;
    esp_err_t err = otk_link_uri_parse(opts->uri, &uri, diag);
    if (err != ESP_OK) {
        return err;
    }
    bool tcp = uri.kind == OTK_LINK_TCP;
    if (tcp && (opts->handler.token == NULL || opts->handler.token[0] == '\0')) {
        otk_diag_set(diag, "%s: TCP needs a shared-secret token (--token or OTAKIT_TOKEN)",
                     opts->uri);
        return ESP_ERR_INVALID_ARG;
    }
    server_t *sv = calloc(1, sizeof *sv);
    if (sv == NULL) {
        otk_diag_set(diag, "out of memory");
        return ESP_ERR_NO_MEM;
    }
    sv->opts = opts;
    sv->tcp = tcp;
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        sv->conns[i].fd = -1;
    }
    err = otk_hosted_handler_init(&sv->h, run, &opts->handler, diag);
    if (err == ESP_OK) {
        err = otk_listener_open(&uri, &sv->listener, diag);
    }
    if (err != ESP_OK) {
        free(sv);
        return err;
    }
    uint32_t baud = otk_listener_baud(sv->listener);
    /* A frame's own bytes at the line's rate, on top of the fixed allowance. */
    sv->stale_ms = OTK_HOSTED_FRAME_STALE_MS +
                   (baud != 0 ? (uint32_t)((uint64_t)OTK_FRAME_BUFFER_SIZE * 10u * 1000u / baud)
                              : 0u);
    const char *where = otk_listener_where(sv->listener);
    hosted_log(&sv->h, 'I', "listening on %s%s", where, tcp ? " (token required)" : "");
    if (opts->on_listening != NULL) {
        opts->on_listening(opts->ctx, where);
    }
    if (!otk_listener_accepts(sv->listener)) {
        conn_open(sv, &sv->conns[0], otk_listener_fd(sv->listener), true, where);
    }
    err = loop(sv);
    if (err == ESP_ERR_NOT_FOUND) {
        otk_diag_set(diag, "after a reboot nothing boots");
    } else if (err != ESP_OK) {
        otk_diag_set(diag, "poll: %s", strerror(errno));
    }
    otk_hosted_handler_shutdown(&sv->h);
    for (int i = 0; i < SERVER_MAX_CONNS; i++) {
        conn_close(sv, &sv->conns[i], NULL);
    }
    otk_listener_close(sv->listener);
    free(sv);
    return err;
}
