/* `otakit device`: what its commands share (cmd_device.c, cmd_device_config.c). */
#ifndef OTAKIT_CMD_DEVICE_H
#define OTAKIT_CMD_DEVICE_H

#include <stdbool.h>
#include <stdio.h>

#include "otakit/device_run.h"

typedef struct {
    const char *flash_path;
    bool json;
    bool verbose;
} device_cmd_opts_t;

/* Open the device (flash file + device file); prints why and returns false on failure. */
bool device_cmd_open(otk_device_run_t *run, const device_cmd_opts_t *o);

/* Say what a power-on changed that the user did not ask for: an unconfirmed app rolled
 * back by the boot, the running app's self-test confirming it (or not). */
void device_note_power_on(FILE *out, const otk_device_run_t *run);

/* The device file's options as text: a heading line, then "  key = value  # comment". */
void device_print_config(const otk_device_store_t *store, const char *flash_path,
                         bool existed);

/* `otakit device config FLASH [--option value ...]`; argv starts at "config". */
int device_config(int argc, char **argv);

/* `otakit device CMD --device URI ...`: the command asked of a running device over the
 * control path (cmd_device_remote.c); argv starts at "device". */
bool device_remote_wanted(int argc, char **argv);
int device_remote(int argc, char **argv);

#endif
