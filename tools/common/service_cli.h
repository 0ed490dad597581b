/* The update service in the programs (`otakit service`, `otakit-device --manifest`): the
 * manifest URI from a command line, fetching and parsing it, and each service event as one
 * text line or one JSON object. */
#ifndef OTAKIT_SERVICE_CLI_H
#define OTAKIT_SERVICE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "json_out.h"
#include "otakit/device_store.h"
#include "otakit/service.h"

/* A URL as given, or a file path made an absolute file:// URI (percent-encoded). false,
 * with why, when the path cannot be resolved or does not fit. */
bool svc_cli_manifest_uri(const char *arg, char *out, size_t cap, otk_diag_t *why);

/* Fetch the manifest (conditionally when if_none_match is set), authenticate it when the
 * device has a manifest key (its signature, version floor in the state file, expiry
 * against the host clock) and parse it against its own URI. Unchanged: ESP_OK, *m NULL,
 * info->not_modified. Errors with diag: the fetch's ("manifest URI: ..."), the
 * signature's, the parser's ("manifest URI: nodes[1].sha256: ..."). */
esp_err_t svc_cli_fetch(const char *uri, const otk_source_opts_t *opts,
                        const char *if_none_match, const otk_device_store_t *store,
                        const char *state_path, otk_manifest_t **m,
                        otk_manifest_fetch_t *info, otk_diag_t *diag);

/* One line about an event, and its level ('I', 'W', 'E'); false for events that get no
 * line (start and a node's begin: the caller names the list; progress). */
bool svc_cli_line(const otk_service_event_t *ev, char *line, size_t cap, char *level);

/* A node's result as a JSON object ({"index", "type", "partition", "uri", "status",
 * "reason", "message", "current_version", "incoming_version", "bytes", "resumed_from"});
 * node may be NULL (a recovery). */
void svc_cli_json_result(json_out_t *j, const char *key, size_t index,
                         const otk_service_node_t *node, const otk_service_node_result_t *r);
/* An event as a JSON object: {"event": name, ...the result's fields, or the totals}. */
void svc_cli_json_event(json_out_t *j, const char *key, const otk_service_event_t *ev);

/* Remember the manifest a run applied (for polling): its URI, ETag and SHA-256 in the
 * state file. */
esp_err_t svc_cli_remember(const char *state_path, const otk_manifest_fetch_t *info,
                           otk_diag_t *diag);

#endif
