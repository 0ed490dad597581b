/* Update-service test fixture: see service_fixture.h. */
#define _DEFAULT_SOURCE
#include "service_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otakit/crypto.h"
#include "test_support.h"

const char SF_CSV[] = "otadata, data, ota,       0xd000,  0x2000\n"
                      "factory, app,  factory,   0x10000, 0x10000\n"
                      "ota_0,   app,  ota_0,     0x20000, 0x10000\n"
                      "ota_1,   app,  ota_1,     0x30000, 0x10000\n"
                      "storage, data, undefined, 0x40000, 0x4000\n"
                      "staging, data, undefined, 0x44000, 0x4000\n"
                      "small,   data, undefined, 0x48000, 0x2000\n";

/* The event log line of an event. */
static void record(void *ctx, const otk_service_event_t *ev)
{
    sf_t *f = ctx;
    if (f->events >= SF_EVENTS_MAX) {
        return;
    }
    char *line = f->event[f->events++];
    const char *name = otk_service_event_name(ev->type);
    switch (ev->type) {
    case OTK_SERVICE_EV_RESULT:
        snprintf(line, SF_EVENT_LEN, "%s %zu %s", name, ev->index,
                 otk_service_status_name(ev->result->status));
        break;
    case OTK_SERVICE_EV_RECOVER:
        snprintf(line, SF_EVENT_LEN, "%s %s %s", name, ev->result->partition,
                 otk_service_status_name(ev->result->status));
        break;
    case OTK_SERVICE_EV_NODE_BEGIN:
    case OTK_SERVICE_EV_VERSION:
    case OTK_SERVICE_EV_PROGRESS:
        snprintf(line, SF_EVENT_LEN, "%s %zu", name, ev->index);
        break;
    case OTK_SERVICE_EV_FINISH:
        snprintf(line, SF_EVENT_LEN, "%s %u/%u/%u/%u%s", name, ev->report->succeeded,
                 ev->report->skipped, ev->report->failed, ev->report->not_run,
                 ev->report->reboot ? " reboot" : "");
        break;
    default:
        snprintf(line, SF_EVENT_LEN, "%s", name);
        break;
    }
}

void sf_start(sf_t *f, bool persist)
{
    memset(f, 0, sizeof *f);
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/otakit-svc-XXXXXX", base);
    assert_non_null(mkdtemp(f->dir));
    f->flash = of_flash(SF_CSV, SF_FLASH_SIZE);
    of_put(f->flash, "factory", "V1.0.0", 0);
    of_start(&f->dev, f->flash, NULL, 0);
    otk_service_config_init(&f->cfg, &f->dev);
    if (persist) {
        snprintf(f->state_path, sizeof f->state_path, "%s/flash.bin.service", f->dir);
        f->cfg.state_path = f->state_path;
    }
    f->cfg.on_event = record;
    f->cfg.event_ctx = f;
}

void sf_stop(sf_t *f)
{
    otk_flash_destroy(f->flash);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (strstr(f->dir, "/otakit-svc-") != NULL && system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", f->dir);
    }
}

const char *sf_file(sf_t *f, const char *name, const void *data, size_t len)
{
    static char uris[8][300];
    static unsigned next;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, len, out), len);
    fclose(out);
    char *uri = uris[next++ % 8];
    snprintf(uri, sizeof uris[0], "file://%s", path);
    return uri;
}

const uint8_t *sf_app(const char *version, size_t *len)
{
    static uint8_t buf[OF_IMAGE_MAX];
    *len = of_build(buf, sizeof buf, version, 0, SF_APP_PAYLOAD);
    return buf;
}

const uint8_t *sf_data(const char *version, size_t payload_len, uint8_t seed, size_t *len)
{
    static uint8_t buf[SF_DATA_SIZE];
    size_t at = 0;
    if (version != NULL) {
        otk_data_header_t hdr = {.version = otk_version_pack(version),
                                 .payload_len = (uint32_t)payload_len};
        assert_true(hdr.version >= 0);
        otk_data_header_encode(&hdr, buf);
        at = OTK_DATA_HEADER_LEN;
    }
    assert_true(at + payload_len <= sizeof buf);
    for (size_t i = 0; i < payload_len; i++) {
        buf[at + i] = (uint8_t)(seed + i * 13u + (i >> 8));
    }
    *len = at + payload_len;
    return buf;
}

void sf_app_node(otk_service_node_t *n, const char *uri, const uint8_t *img, size_t len)
{
    otk_service_node_init(n, OTK_NODE_APP);
    snprintf(n->uri, sizeof n->uri, "%s", uri);
    n->has_sha256 = true;
    otk_sha256(img, len, n->sha256);
    n->has_size = true;
    n->size = (uint32_t)len;
}

void sf_data_node(otk_service_node_t *n, const char *label, const char *staging,
                  const char *uri, const uint8_t *img, size_t len)
{
    otk_service_node_init(n, OTK_NODE_DATA);
    snprintf(n->label, sizeof n->label, "%s", label);
    snprintf(n->staging, sizeof n->staging, "%s", staging != NULL ? staging : "");
    snprintf(n->uri, sizeof n->uri, "%s", uri);
    n->has_sha256 = true;
    otk_sha256(img, len, n->sha256);
    n->has_size = true;
    n->size = (uint32_t)len;
}

esp_err_t sf_run(sf_t *f, const otk_service_node_t *nodes, size_t count)
{
    f->events = 0;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_service_run(&f->cfg, nodes, count, &f->report, &diag);
    if (err != ESP_OK && err != ESP_ERR_FLASH_OP_FAIL) {
        print_message("service: %s: %s\n", esp_err_to_name(err), diag.msg);
    }
    return err;
}

void sf_reboot(sf_t *f)
{
    otk_flash_power_on(f->flash);
    of_reboot(&f->dev);
}

int sf_event(const sf_t *f, const char *prefix)
{
    for (size_t i = 0; i < f->events; i++) {
        if (strncmp(f->event[i], prefix, strlen(prefix)) == 0) {
            return (int)i;
        }
    }
    return -1;
}

bool sf_holds(sf_t *f, const char *label, const uint8_t *data, size_t len, bool tail)
{
    const esp_partition_t *p = of_part(&f->dev, label);
    uint8_t *buf = malloc(p->size);
    assert_non_null(buf);
    assert_int_equal(otk_partition_read(p, 0, buf, p->size), ESP_OK);
    bool ok = len <= p->size && memcmp(buf, data, len) == 0;
    for (size_t i = len; ok && tail && i < p->size; i++) {
        ok = buf[i] == 0xFF;
    }
    free(buf);
    return ok;
}

void sf_state(sf_t *f, otk_service_state_t *state)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_service_state_load(f->state_path, state, &diag) != ESP_OK) {
        fail_msg("state: %s", diag.msg);
    }
}
