/* otakit push --device URI IMAGE|URL: update a running device over the control path
 * (docs/protocol.md), as an ESP-Hosted host updates its co-processor, with what ESP-Hosted
 * lacks: pipelined writes, retries and resume, errors that say why, and a check that the
 * device runs the image after its reboot. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_push.h"
#include "commands.h"
#include "json_out.h"
#include "otakit/crypto.h"
#include "otakit/hosted.h"
#include "otakit/image.h"
#include "otakit/log.h"

static const char USAGE[] =
    "usage: otakit push --device URI IMAGE|URL [options]\n\n"
    "Send an app image to a running device (`otakit-device --listen URI`) over the control\n"
    "path: Begin (image size, SHA-256, chunk size), a window of pipelined writes (offset,\n"
    "data, CRC-32), End (the device verifies the image and its SHA-256), Activate (it\n"
    "selects the image and reboots); then wait for the reboot and check that the device\n"
    "runs the pushed version. A dropped link, a timeout or a device reboot is survived:\n"
    "the push connects again and the device says where to continue.\n\n"
    "URI: unix:PATH, tcp://HOST:PORT (token required), serial:TTY[?baud=N]\n"
    "IMAGE: a file; URL: http:// or https:// (downloaded first, with resume)\n\n"
    "options:\n"
    "  --chunk N        bytes per write (default 16384 on unix and tcp links, 4096 on\n"
    "                   serial ones; at most the device's max_chunk)\n"
    "  --window N       writes in flight (default: the device's window, 8)\n"
    "  --token TOKEN    TCP's shared secret (default: $OTAKIT_TOKEN)\n"
    "  --no-activate    stop after End: the image is verified on the device, not selected\n"
    "  --retries N      reconnects in a row without progress before giving up (10)\n"
    "  --timeout MS     how long an answer may take before a request is sent again (2000)\n"
    "  --ca FILE        CA certificates for an https:// URL (default: the system store)\n"
    "  --allow-http     accept a plain http:// URL\n"
    "  --json           one JSON document on stdout\n"
    "  --inject SPEC    testing: break the link on purpose, e.g.\n"
    "                   seed=7,drop=30000,flip=0.02,rx_flip=0.01,garbage=0.02,dup=0.05,\n"
    "                   reorder=0.05 (drop: each link drops after 1..N bytes; baud=N:\n"
    "                   send at a UART's rate)\n\n"
    "A progress bar goes to stderr when it is a terminal. Exit: 0 the device runs the image\n"
    "(or, with --no-activate, holds it verified); 1 refused or failed (the reason is\n"
    "printed); 2 wrong arguments.\n";

#define KIB 1024u
#define PROGRESS_WIDTH 30

static int parse_count(const char *what, const char *text, uint32_t min, uint32_t max,
                       uint32_t *out)
{
    if (!cli_parse_u32(text, out) || *out < min || *out > max) {
        return cli_usage_error("push", "%s: expected %u..%u", what, (unsigned)min,
                               (unsigned)max);
    }
    return -1;
}

/* Returns -1 when parsed, else an exit code. */
static int parse_opts(int argc, char **argv, push_opts_t *o)
{
    enum { O_CHUNK = 1, O_WINDOW, O_TOKEN, O_NOACT, O_RETRIES, O_TIMEOUT, O_CA, O_HTTP, O_JSON,
           O_INJECT, O_DEVICE };
    static const struct option longopts[] = {
        {"device", required_argument, NULL, O_DEVICE},
        {"chunk", required_argument, NULL, O_CHUNK},
        {"window", required_argument, NULL, O_WINDOW},
        {"token", required_argument, NULL, O_TOKEN},
        {"no-activate", no_argument, NULL, O_NOACT},
        {"retries", required_argument, NULL, O_RETRIES},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"ca", required_argument, NULL, O_CA},
        {"allow-http", no_argument, NULL, O_HTTP},
        {"json", no_argument, NULL, O_JSON},
        {"inject", required_argument, NULL, O_INJECT},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->activate = true;
    o->retries = OTK_HOSTED_PUSH_RETRIES;
    optind = 1;
    int c, rc = -1;
    while (rc < 0 && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_DEVICE: o->device = optarg; break;
        case O_CHUNK:
            rc = parse_count("--chunk", optarg, OTK_HOSTED_MIN_CHUNK, OTK_HOSTED_MAX_CHUNK,
                             &o->chunk);
            break;
        case O_WINDOW: rc = parse_count("--window", optarg, 1, 64, &o->window); break;
        case O_TOKEN: o->token = optarg; break;
        case O_NOACT: o->activate = false; break;
        case O_RETRIES: rc = parse_count("--retries", optarg, 0, 1000, &o->retries); break;
        case O_TIMEOUT: rc = parse_count("--timeout", optarg, 10, 600000, &o->timeout_ms); break;
        case O_CA: o->ca_file = optarg; break;
        case O_HTTP: o->allow_http = true; break;
        case O_JSON: o->json = true; break;
        case O_INJECT: o->inject = optarg; break;
        default: return cli_usage_error("push", "unknown option");
        }
    }
    if (rc >= 0) {
        return rc;
    }
    if (o->device == NULL) {
        return cli_usage_error("push", "--device URI is required");
    }
    if (argc - optind != 1) {
        return cli_usage_error("push", "takes one IMAGE (a file) or URL");
    }
    o->source = argv[optind];
    return -1;
}

typedef struct {
    bool tty;
    bool quiet;
    uint32_t last_pct;
    char slot[17];
} progress_state_t;

static void on_progress(void *ctx, const otk_hosted_progress_t *p)
{
    progress_state_t *ps = ctx;
    if (ps->quiet) {
        return;
    }
    if (strcmp(p->event, "write") == 0 && ps->tty && p->size > 0) {
        unsigned pct = (unsigned)((uint64_t)p->acked * 100u / p->size);
        unsigned fill = (unsigned)((uint64_t)p->acked * PROGRESS_WIDTH / p->size);
        char bar[PROGRESS_WIDTH + 1];
        memset(bar, '#', fill);
        memset(bar + fill, '.', PROGRESS_WIDTH - fill);
        bar[PROGRESS_WIDTH] = '\0';
        fprintf(stderr, "\r%s [%s] %3u%% %u/%u KiB", ps->slot, bar, pct,
                (unsigned)((p->acked + KIB - 1) / KIB), (unsigned)((p->size + KIB - 1) / KIB));
        if (p->acked == p->size) {
            fputc('\n', stderr);
        }
        return;
    }
    if (strcmp(p->event, "begin") == 0 && p->detail != NULL) {
        snprintf(ps->slot, sizeof ps->slot, "%.16s", p->detail);
        char *colon = strchr(ps->slot, ':');
        if (colon != NULL) {
            *colon = '\0';
        }
        if (strstr(p->detail, "resumed") != NULL) {
            fprintf(stderr, "%snote: %s\n", ps->tty ? "\n" : "", p->detail);
        }
    } else if (strcmp(p->event, "reconnect") == 0 || strcmp(p->event, "retry") == 0) {
        fprintf(stderr, "%snote: %s at %u of %u bytes: %s\n", ps->tty ? "\n" : "", p->event,
                (unsigned)p->acked, (unsigned)p->size, p->detail != NULL ? p->detail : "");
    }
}

static void print_app(const char *label, const otk_hosted_app_t *app)
{
    printf("%s%s %s", label, app->present ? app->project_name : "?",
           app->present ? app->version : "?");
}

static void print_result(const push_opts_t *o, const push_image_t *img,
                         const otk_hosted_push_result_t *r)
{
    double rate = r->transfer_s > 0 ? (double)r->size / r->transfer_s : 0;
    printf("%s <- %s: ", r->slot, o->source);
    print_app("", &r->image);
    printf(", %u bytes verified in %.2f s (%.0f KiB/s; %u-byte chunks, window %u)\n",
           (unsigned)img->len, r->transfer_s, rate / KIB, (unsigned)r->chunk,
           (unsigned)r->window);
    if (r->resumed_from > 0 || r->resumes > 0 || r->timeouts > 0 || r->rewinds > 0) {
        printf("  started at %u, resumed %u times (last at %u); %u links, %u timeouts, "
               "%u rewinds, %llu bytes sent\n",
               (unsigned)r->resumed_from, (unsigned)r->resumes, (unsigned)r->resumed_at,
               (unsigned)r->connects, (unsigned)r->timeouts, (unsigned)r->rewinds,
               (unsigned long long)r->bytes_sent);
    }
    if (r->rebooted) {
        print_app("rebooted: runs ", &r->running);
        printf(" from %s (%s)\n", r->running_slot, otk_hosted_slot_state_name(r->running_state));
    } else if (!o->activate) {
        printf("not activated (--no-activate): the device still runs its old app\n");
    }
}

static void json_app(json_out_t *j, const char *key, const otk_hosted_app_t *app)
{
    if (!app->present) {
        json_null(j, key);
        return;
    }
    json_object_begin(j, key);
    json_string(j, "project_name", app->project_name);
    json_string(j, "version", app->version);
    json_uint(j, "secure_version", app->secure_version);
    json_hex(j, "elf_sha256", app->elf_sha256, sizeof app->elf_sha256);
    json_object_end(j);
}

static void json_result(const push_opts_t *o, const push_image_t *img,
                        const otk_hosted_push_result_t *r, otk_hosted_err_t err,
                        const otk_diag_t *diag, const otk_link_fault_stats_t *fs)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_bool(&j, "ok", err == OTK_HOSTED_OK);
    json_string(&j, "device", o->device);
    json_string(&j, "source", o->source);
    json_uint(&j, "size", img->len);
    if (r->hashed) {
        json_hex(&j, "sha256", r->sha256, sizeof r->sha256);
    } else {
        json_null(&j, "sha256"); /* the push stopped before every byte was hashed */
    }
    if (err != OTK_HOSTED_OK) {
        json_string(&j, "err", otk_hosted_err_name(err));
        json_string(&j, "reason", diag->msg);
    }
    json_string(&j, "slot", r->slot);
    json_uint(&j, "chunk", r->chunk);
    json_uint(&j, "window", r->window);
    json_uint(&j, "resumed_from", r->resumed_from);
    json_uint(&j, "resumes", r->resumes);
    json_uint(&j, "resumed_at", r->resumed_at);
    json_uint(&j, "connects", r->connects);
    json_uint(&j, "timeouts", r->timeouts);
    json_uint(&j, "rewinds", r->rewinds);
    json_uint(&j, "writes", r->writes);
    json_uint(&j, "bytes_sent", r->bytes_sent);
    json_int(&j, "transfer_us", (int64_t)(r->transfer_s * 1e6));
    json_app(&j, "image", &r->image);
    json_bool(&j, "activated", r->activated);
    json_bool(&j, "rebooted", r->rebooted);
    json_string(&j, "running_slot", r->running_slot);
    json_app(&j, "running", &r->running);
    json_string(&j, "running_state", otk_hosted_slot_state_name(r->running_state));
    json_bool(&j, "runs_image", r->runs_image);
    if (fs != NULL) {
        json_object_begin(&j, "injected");
        json_uint(&j, "connections", fs->connections);
        json_uint(&j, "drops", fs->drops);
        json_uint(&j, "flips", fs->flips);
        json_uint(&j, "rx_flips", fs->rx_flips);
        json_uint(&j, "garbage", fs->garbage);
        json_uint(&j, "dups", fs->dups);
        json_uint(&j, "reorders", fs->reorders);
        json_object_end(&j);
    }
    json_object_end(&j);
    json_finish(&j);
}

static int push_run(const push_opts_t *o)
{
    push_image_t img;
    if (!push_load_image(o, &img)) {
        return CLI_EXIT_FAIL;
    }
    otk_link_fault_spec_t fault;
    otk_hosted_client_opts_t co;
    otk_hosted_client_opts_init(&co);
    co.token = o->token;
    co.name = "otakit push";
    if (o->timeout_ms != 0) {
        co.timeout_ms = o->timeout_ms;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (o->inject != NULL) {
        if (otk_link_fault_parse(o->inject, &fault, &diag) != ESP_OK) {
            free(img.data);
            return cli_usage_error("push", "--inject: %s", diag.msg);
        }
        co.fault = &fault;
    }
    otk_hosted_client_t *c = NULL;
    if (otk_hosted_client_new(o->device, &co, &c, &diag) != OTK_HOSTED_OK) {
        free(img.data);
        return cli_usage_error("push", "--device: %s", diag.msg);
    }
    progress_state_t ps = {.tty = !o->json && isatty(STDERR_FILENO), .quiet = o->json};
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    po.chunk = o->chunk;
    po.window = o->window;
    po.retries = o->retries;
    po.activate = o->activate;
    po.progress = on_progress;
    po.ctx = &ps;
    otk_hosted_push_result_t r;
    otk_hosted_err_t err = otk_hosted_push(c, img.data, img.len, &po, &r, &diag);
    if (o->json) {
        json_result(o, &img, &r, err, &diag, otk_hosted_fault_stats(c));
    } else if (err == OTK_HOSTED_OK) {
        print_result(o, &img, &r);
    }
    if (err != OTK_HOSTED_OK) {
        cli_error("push %s to %s: %s: %s", o->source, o->device, otk_hosted_err_name(err),
                  diag.msg);
    }
    otk_hosted_client_free(c);
    free(img.data);
    return err == OTK_HOSTED_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_push(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    push_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    otk_log_set_level(OTK_LOG_NONE);
    return push_run(&o);
}
