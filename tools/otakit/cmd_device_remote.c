/* otakit device status|confirm|rollback|reboot|abort --device URI: the same questions and
 * decisions as on a flash file, asked of a running device over the control path
 * (`otakit-device --listen URI`, docs/protocol.md). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_device.h"
#include "json_out.h"
#include "otakit/hosted.h"
#include "otakit/log.h"

static const char USAGE[] =
    "usage: otakit device <command> --device URI [--token TOKEN] [--json] [--timeout MS]\n\n"
    "Ask a running device (`otakit-device --listen URI`) over the control path:\n"
    "  status     the running app, each app slot's otadata state and image, the update in\n"
    "             progress (bytes received, next offset), the link counters\n"
    "  confirm    the running app keeps itself (esp_ota_mark_app_valid_cancel_rollback)\n"
    "  rollback   the running app rejects itself and the device reboots into the previous\n"
    "             one (esp_ota_mark_app_invalid_rollback_and_reboot)\n"
    "  reboot     power off and on\n"
    "  abort      drop the update in progress\n\n"
    "URI: unix:PATH, tcp://HOST:PORT (token: --token or $OTAKIT_TOKEN), serial:TTY[?baud=N]\n"
    "rollback and reboot wait for the device to come back and say what runs then\n"
    "(--no-wait: do not).\n";

typedef struct {
    const char *command;
    const char *uri;
    const char *token;
    bool json;
    bool wait;
    uint32_t timeout_ms;
} remote_opts_t;

bool device_remote_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 || strncmp(argv[i], "--device=", 9) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_opts(int argc, char **argv, remote_opts_t *o)
{
    enum { O_DEVICE = 1, O_TOKEN, O_JSON, O_TIMEOUT, O_NOWAIT };
    static const struct option longopts[] = {{"device", required_argument, NULL, O_DEVICE},
                                             {"token", required_argument, NULL, O_TOKEN},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"timeout", required_argument, NULL, O_TIMEOUT},
                                             {"no-wait", no_argument, NULL, O_NOWAIT},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->wait = true;
    o->command = argv[0];
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_DEVICE:
            o->uri = optarg;
            break;
        case O_TOKEN:
            o->token = optarg;
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_NOWAIT:
            o->wait = false;
            break;
        case O_TIMEOUT:
            if (!cli_parse_u32(optarg, &o->timeout_ms) || o->timeout_ms < 10) {
                return cli_usage_error("device", "--timeout: milliseconds, at least 10");
            }
            break;
        default:
            return cli_usage_error("device", "unknown option");
        }
    }
    if (optind != argc) {
        return cli_usage_error("device", "%s --device URI takes no FLASH", o->command);
    }
    return -1;
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
    json_string(j, "idf_ver", app->idf_ver);
    json_uint(j, "secure_version", app->secure_version);
    json_hex(j, "elf_sha256", app->elf_sha256, sizeof app->elf_sha256);
    json_object_end(j);
}

static void json_status(json_out_t *j, const otk_hosted_status_t *st)
{
    json_string(j, "chip", st->chip);
    json_uint(j, "power_ons", st->power_ons);
    json_uint(j, "boot_id", st->boot_id);
    json_string(j, "running_slot", st->running_slot);
    json_app(j, "running", &st->running);
    json_array_begin(j, "slots");
    for (size_t i = 0; i < st->slot_count; i++) {
        const otk_hosted_slot_t *s = &st->slots[i];
        json_object_begin(j, NULL);
        json_string(j, "label", s->label);
        json_uint(j, "address", s->address);
        json_uint(j, "size", s->size);
        json_string(j, "state", otk_hosted_slot_state_name(s->state));
        json_bool(j, "running", s->running);
        json_bool(j, "boots_next", s->boots_next);
        json_app(j, "app", &s->app);
        json_object_end(j);
    }
    json_array_end(j);
    const otk_hosted_session_info_t *se = &st->session;
    json_object_begin(j, "session");
    json_string(j, "state", otk_hosted_session_state_name(se->state));
    if (se->state != OTK_SESSION_NONE) {
        if (se->sha_known) {
            json_hex(j, "sha256", se->sha256, sizeof se->sha256);
        } else {
            json_null(j, "sha256"); /* the host gives it with End */
        }
        json_uint(j, "image_size", se->image_size);
        json_uint(j, "received", se->received);
        json_uint(j, "next_offset", se->next_offset);
        json_string(j, "slot", se->slot);
        json_uint(j, "chunk_size", se->chunk_size);
        json_uint(j, "duplicates", se->duplicates);
        json_uint(j, "gaps", se->gaps);
        json_string(j, "last_message", se->last_message);
    }
    json_object_end(j);
    json_object_begin(j, "link");
    json_uint(j, "frames_ok", st->link.frames_ok);
    json_uint(j, "frames_dropped", st->link.frames_dropped);
    json_uint(j, "bytes_discarded", st->link.bytes_discarded);
    json_uint(j, "bad_messages", st->link.bad_messages);
    json_uint(j, "busy_refusals", st->link.busy_refusals);
    json_uint(j, "auth_failures", st->link.auth_failures);
    json_object_end(j);
}

static void print_status(const char *uri, const otk_hosted_hello_t *h,
                         const otk_hosted_status_t *st)
{
    printf("device %s: %s, power-on %u\n", uri, h->device, (unsigned)st->power_ons);
    printf("running: %s %s %s\n", st->running_slot[0] != '\0' ? st->running_slot : "nothing",
           st->running.present ? st->running.project_name : "",
           st->running.present ? st->running.version : "");
    printf("  #  %-10s %-10s %-9s %-15s %s\n", "slot", "address", "size", "otadata", "app");
    for (size_t i = 0; i < st->slot_count; i++) {
        const otk_hosted_slot_t *s = &st->slots[i];
        char app[80] = "(no app)";
        if (s->app.present) {
            snprintf(app, sizeof app, "%s %s", s->app.project_name, s->app.version);
        }
        printf("  %zu  %-10s 0x%08x %-9u %-15s %s%s%s\n", i, s->label, (unsigned)s->address,
               (unsigned)s->size, otk_hosted_slot_state_name(s->state), app,
               s->running ? "  [running]" : "", s->boots_next ? "  [boots next]" : "");
    }
    const otk_hosted_session_info_t *se = &st->session;
    if (se->state == OTK_SESSION_NONE) {
        printf("session: none\n");
    } else {
        char sha[24] = "hash with End";
        for (int i = 0; se->sha_known && i < 8; i++) {
            snprintf(sha + 2 * i, 3, "%02x", se->sha256[i]);
        }
        if (se->sha_known) {
            snprintf(sha + 16, sizeof sha - 16, "...");
        }
        printf("session: %s, %u of %u bytes in %s (image %s), next offset %u%s%s\n",
               otk_hosted_session_state_name(se->state), (unsigned)se->received,
               (unsigned)se->image_size, se->slot, sha, (unsigned)se->next_offset,
               se->last_message[0] != '\0' ? "; " : "", se->last_message);
    }
    printf("link: %llu frames, %llu dropped, %llu bytes discarded, %llu busy refusals, "
           "%llu auth failures\n",
           (unsigned long long)st->link.frames_ok, (unsigned long long)st->link.frames_dropped,
           (unsigned long long)st->link.bytes_discarded,
           (unsigned long long)st->link.busy_refusals,
           (unsigned long long)st->link.auth_failures);
}

/* The decision's answer, then (rollback, reboot) the device after its reboot. */
static otk_hosted_err_t decide(otk_hosted_client_t *c, const remote_opts_t *o,
                               otk_hosted_status_t *after, bool *waited, otk_diag_t *diag)
{
    otk_hosted_err_t err = otk_hosted_connect(c, diag);
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    uint64_t before = otk_hosted_hello_info(c)->boot_id;
    bool reboots = strcmp(o->command, "rollback") == 0 || strcmp(o->command, "reboot") == 0;
    if (strcmp(o->command, "confirm") == 0) {
        err = otk_hosted_confirm(c, diag);
    } else if (strcmp(o->command, "rollback") == 0) {
        err = otk_hosted_rollback(c, 0, diag);
    } else if (strcmp(o->command, "reboot") == 0) {
        err = otk_hosted_reboot(c, 0, diag);
    } else {
        err = otk_hosted_abort(c, diag);
    }
    if (err == OTK_HOSTED_OK && reboots && o->wait) {
        err = otk_hosted_wait_reboot(c, before, OTK_HOSTED_REBOOT_WAIT_MS, diag);
        if (err == OTK_HOSTED_OK) {
            err = otk_hosted_status(c, after, diag);
            *waited = err == OTK_HOSTED_OK;
        }
    }
    return err;
}

static int run_remote(const remote_opts_t *o)
{
    otk_hosted_client_opts_t co;
    otk_hosted_client_opts_init(&co);
    co.token = o->token;
    co.name = "otakit device";
    if (o->timeout_ms != 0) {
        co.timeout_ms = o->timeout_ms;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    otk_hosted_client_t *c = NULL;
    if (otk_hosted_client_new(o->uri, &co, &c, &diag) != OTK_HOSTED_OK) {
        return cli_usage_error("device", "--device: %s", diag.msg);
    }
    otk_hosted_status_t *st = calloc(1, sizeof *st);
    otk_hosted_err_t err = OTK_HOSTED_ERR_LOCAL;
    bool waited = false;
    if (st != NULL) {
        err = strcmp(o->command, "status") == 0 ? otk_hosted_status(c, st, &diag)
                                                : decide(c, o, st, &waited, &diag);
    }
    bool status = strcmp(o->command, "status") == 0;
    if (o->json) {
        json_out_t j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "command", o->command);
        json_string(&j, "device", o->uri);
        json_bool(&j, "ok", err == OTK_HOSTED_OK);
        json_string(&j, "err", otk_hosted_err_name(err));
        json_int(&j, "esp_err", otk_hosted_last_esp_err(c));
        if (err != OTK_HOSTED_OK) {
            json_string(&j, "reason", diag.msg);
        }
        if (err == OTK_HOSTED_OK && (status || waited)) {
            json_status(&j, st);
        }
        json_object_end(&j);
        json_finish(&j);
    } else if (err == OTK_HOSTED_OK && status) {
        print_status(o->uri, otk_hosted_hello_info(c), st);
    } else if (err == OTK_HOSTED_OK) {
        printf("%s: done%s", o->command, waited ? "; rebooted: runs " : "\n");
        if (waited) {
            printf("%s %s from %s\n", st->running.project_name, st->running.version,
                   st->running_slot);
        }
    }
    if (err != OTK_HOSTED_OK) {
        cli_error("device %s --device %s: %s: %s", o->command, o->uri, otk_hosted_err_name(err),
                  diag.msg);
    }
    free(st);
    otk_hosted_client_free(c);
    return err == OTK_HOSTED_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int device_remote(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    static const char *const commands[] = {"status", "confirm", "rollback", "reboot", "abort"};
    bool known = false;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        known = known || strcmp(argv[1], commands[i]) == 0;
    }
    if (!known) {
        return cli_usage_error("device", "'%s' does not take --device (status, confirm, "
                                         "rollback, reboot, abort do)", argv[1]);
    }
    remote_opts_t o;
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc >= 0) {
        return rc;
    }
    if (o.uri == NULL) {
        return cli_usage_error("device", "--device URI is required");
    }
    otk_log_set_level(OTK_LOG_NONE);
    return run_remote(&o);
}
