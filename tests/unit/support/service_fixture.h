/* A device for update-service tests: a memory flash with an app layout plus data
 * partitions, factory app V1.0.0 running, images written as files in a temp dir (on tmpfs
 * when there is one: the state file is fsync'd at every commit point) and given to the
 * service as file:// URIs, and a recorder of the service's events. */
#ifndef SERVICE_FIXTURE_H
#define SERVICE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_fixture.h"
#include "otakit/service.h"

/* factory, ota_0, ota_1 (64 KiB each); storage and staging (16 KiB), small (8 KiB). */
extern const char SF_CSV[];
#define SF_FLASH_SIZE 0x80000u
#define SF_DATA_SIZE 0x4000u
/* An app image of about 20 KiB: five 4 KiB chunks, so downloads have checkpoints. */
#define SF_APP_PAYLOAD 20000u
#define SF_EVENTS_MAX 256u
#define SF_EVENT_LEN 96u

typedef struct {
    otk_flash_t *flash;
    otk_device_t dev;
    char dir[128];
    char state_path[256];
    otk_service_config_t cfg;
    otk_service_report_t report;
    size_t events;
    char event[SF_EVENTS_MAX][SF_EVENT_LEN]; /* "start", "result 0 success", ... */
} sf_t;

/* Flash, factory V1.0.0, power on, a state file in a fresh dir (persist) or none. */
void sf_start(sf_t *f, bool persist);
/* Release the flash and remove the dir. */
void sf_stop(sf_t *f);
/* Write a file in the dir; returns its file:// URI (a static buffer per call slot: up to
 * eight URIs stay valid at once). */
const char *sf_file(sf_t *f, const char *name, const void *data, size_t len);
/* An app image for the fixture's chip with this version string (static buffer). */
const uint8_t *sf_app(const char *version, size_t *len);
/* A data image: the otakit header with version (NULL: raw, no header) then payload_len
 * bytes of a pattern from seed (static buffer, SF_DATA_SIZE at most). */
const uint8_t *sf_data(const char *version, size_t payload_len, uint8_t seed, size_t *len);
/* Nodes with the image's size and SHA-256 filled in. */
void sf_app_node(otk_service_node_t *n, const char *uri, const uint8_t *img, size_t len);
void sf_data_node(otk_service_node_t *n, const char *label, const char *staging,
                  const char *uri, const uint8_t *img, size_t len);
/* Run the list (clears the event log first). */
esp_err_t sf_run(sf_t *f, const otk_service_node_t *nodes, size_t count);
/* Power comes back (after a cut) and the device boots again. */
void sf_reboot(sf_t *f);
/* Index of the first event starting with prefix, or -1. */
int sf_event(const sf_t *f, const char *prefix);
/* The partition holds exactly data then 0xFF to its end (the latter checked when
 * tail is true). */
bool sf_holds(sf_t *f, const char *label, const uint8_t *data, size_t len, bool tail);
/* The state file as saved now. */
void sf_state(sf_t *f, otk_service_state_t *state);

#endif
