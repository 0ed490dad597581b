/* otakit: one program, subcommands by group. A thin user of the library. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "otakit/log.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} groups[] = {
    {"partition", cmd_partition, "partition tables: CSV <-> binary, show"},
    {"image", cmd_image, "app and bootloader images: info, verify, make"},
    {"flash", cmd_flash, "whole flash image files: create, info"},
    {"otadata", cmd_otadata, "the boot selection record: show, switch, erase"},
    {"ota", cmd_ota, "update a simulated device's flash as its running app would"},
    {"device", cmd_device, "a simulated device: confirm, rollback, status, config"},
    {"push", cmd_push, "update a running device over the control path (unix, tcp, serial)"},
    {"service", cmd_service, "run an update list (app + data partitions) from a manifest"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: otakit <group> <command> [options]\n\n"
                 "ESP-IDF's OTA system on a Linux host: flash images, partition tables, app\n"
                 "images and the otadata boot record, byte-compatible with real ESP flash.\n\n"
                 "groups:\n");
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        fprintf(out, "  %-10s %s\n", groups[i].name, groups[i].summary);
    }
    fprintf(out, "\n'otakit <group> --help' lists a group's commands; every command takes --help.\n");
}

int main(int argc, char **argv)
{
    otk_log_set_level(OTK_LOG_WARN);
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("otakit 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (strcmp(argv[1], groups[i].name) == 0) {
            return groups[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "otakit: unknown group '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
