/* otakit otadata show|switch|erase: ESP-IDF's otatool.py, on a flash image file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "flash_view.h"

static const char USAGE[] =
    "usage: otakit otadata <command> FLASH [options]\n\n"
    "The otadata partition selects which OTA app slot boots (two 4 KiB sectors, one entry\n"
    "each, the one with the larger seq wins).\n\n"
    "commands:\n"
    "  show FLASH [--json]           both entries (seq, state, CRC) and the slot they select\n"
    "  switch FLASH LABEL [--state S] select app partition LABEL for the next boot: an OTA\n"
    "                                slot gets a new entry as esp_ota_set_boot_partition writes\n"
    "                                it; 'factory' erases otadata. S: undefined (default, as\n"
    "                                otatool.py), new (rollback: first boot must confirm), valid\n"
    "  erase FLASH                   erase both entries: the default app boots (factory, or\n"
    "                                ota_0)\n\n"
    "options:\n"
    "  --offset ADDR   partition table offset (default 0x8000)\n"
    "  --json          machine-readable output (show)\n";

typedef struct {
    uint32_t table_offset;
    bool json;
    uint32_t state;
    const char *args[2];
    int nargs;
} otadata_opts_t;

static bool parse_state(const char *text, uint32_t *state)
{
    static const struct {
        const char *name;
        uint32_t value;
    } states[] = {{"undefined", ESP_OTA_IMG_UNDEFINED}, {"new", ESP_OTA_IMG_NEW},
                  {"valid", ESP_OTA_IMG_VALID}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        if (strcmp(text, states[i].name) == 0) {
            *state = states[i].value;
            return true;
        }
    }
    return false;
}

/* Returns -1 when parsed, else an exit code. */
static int parse_opts(const char *cmd, int argc, char **argv, otadata_opts_t *o)
{
    static const struct option longopts[] = {{"offset", required_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"state", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->table_offset = ESP_PARTITION_TABLE_OFFSET_DEFAULT;
    o->state = ESP_OTA_IMG_UNDEFINED;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!parse_table_offset(cmd, optarg, &o->table_offset)) {
                return CLI_EXIT_USAGE;
            }
            break;
        case 'j':
            o->json = true;
            break;
        case 's':
            if (!parse_state(optarg, &o->state)) {
                return cli_usage_error(cmd, "--state %s: expected undefined, new or valid", optarg);
            }
            break;
        default:
            return cli_usage_error(cmd, "unknown option");
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->nargs == 2) {
            return cli_usage_error(cmd, "too many arguments");
        }
        o->args[o->nargs++] = argv[i];
    }
    return -1;
}

static int otadata_show(const otadata_opts_t *o)
{
    flash_file_t ff;
    if (!flash_file_open(&ff, o->args[0], o->table_offset)) {
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    const esp_partition_t *part = flash_file_otadata(&ff);
    esp_ota_select_entry_t entries[2];
    if (part != NULL) {
        esp_err_t err = otk_otadata_read(part, entries);
        if (err != ESP_OK) {
            cli_error("%s: reading otadata: %s", o->args[0], esp_err_to_name(err));
        } else if (o->json) {
            json_out_t j;
            json_init(&j, stdout);
            otadata_print_json(&j, NULL, &ff, part, entries);
            json_finish(&j);
            rc = CLI_EXIT_OK;
        } else {
            otadata_print_text(&ff, part, entries);
            rc = CLI_EXIT_OK;
        }
    }
    flash_file_close(&ff);
    return rc;
}

static int otadata_switch(const otadata_opts_t *o)
{
    flash_file_t ff;
    if (!flash_file_open(&ff, o->args[0], o->table_offset)) {
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    const esp_partition_t *otadata = flash_file_otadata(&ff);
    const esp_partition_t *target = otk_partition_find_first(&ff.table, ESP_PARTITION_TYPE_APP,
                                                             ESP_PARTITION_SUBTYPE_ANY, o->args[1]);
    uint32_t n = otk_otadata_app_slot_count(&ff.table);
    if (otadata == NULL) {
        /* reason printed */
    } else if (target == NULL) {
        cli_error("%s: no app partition labelled '%s'", o->args[0], o->args[1]);
    } else if (target->subtype == ESP_PARTITION_SUBTYPE_APP_FACTORY) {
        esp_err_t err = otk_otadata_erase(otadata);
        if (err == ESP_OK) {
            printf("otadata erased: '%s' (factory) boots next\n", target->label);
            rc = CLI_EXIT_OK;
        } else {
            cli_error("erasing otadata: %s", esp_err_to_name(err));
        }
    } else if (target->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MIN ||
               target->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MAX) {
        cli_error("'%s' is not an OTA slot or the factory app (subtype 0x%02x)", target->label,
                  (unsigned)target->subtype);
    } else if ((uint32_t)(target->subtype & 0x0F) >= n) {
        cli_error("'%s' is ota_%u but the OTA slots are not contiguous from ota_0 (%u found): "
                  "ESP-IDF cannot select it",
                  target->label, (unsigned)(target->subtype & 0x0F), (unsigned)n);
    } else {
        int sector = -1;
        esp_err_t err = otk_otadata_select_slot(otadata, target->subtype & 0x0F, n, o->state,
                                                OTK_OTADATA_RULE_V6, &sector);
        esp_ota_select_entry_t entries[2];
        if (err == ESP_OK) {
            err = otk_otadata_read(otadata, entries);
        }
        if (err == ESP_OK) {
            printf("otadata entry %d: seq %u, state %s -> '%s' boots next\n", sector,
                   (unsigned)entries[sector].ota_seq,
                   otk_otadata_state_name(entries[sector].ota_state), target->label);
            rc = CLI_EXIT_OK;
        } else {
            cli_error("writing otadata: %s", esp_err_to_name(err));
        }
    }
    flash_file_close(&ff);
    return rc;
}

static int otadata_erase(const otadata_opts_t *o)
{
    flash_file_t ff;
    if (!flash_file_open(&ff, o->args[0], o->table_offset)) {
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    const esp_partition_t *otadata = flash_file_otadata(&ff);
    if (otadata != NULL) {
        esp_err_t err = otk_otadata_erase(otadata);
        if (err == ESP_OK) {
            const esp_partition_t *boot = otk_otadata_default_partition(&ff.table);
            printf("otadata erased: '%s' boots next\n", boot ? boot->label : "(no app)");
            rc = CLI_EXIT_OK;
        } else {
            cli_error("erasing otadata: %s", esp_err_to_name(err));
        }
    }
    flash_file_close(&ff);
    return rc;
}

int cmd_otadata(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    static const struct {
        const char *name;
        int nargs;
        int (*run)(const otadata_opts_t *o);
    } cmds[] = {{"show", 1, otadata_show}, {"switch", 2, otadata_switch},
                {"erase", 1, otadata_erase}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0) {
            continue;
        }
        otadata_opts_t o;
        int rc = parse_opts("otadata", argc - 1, argv + 1, &o);
        if (rc >= 0) {
            return rc;
        }
        if (o.nargs != cmds[i].nargs) {
            return cli_usage_error("otadata", "%s takes %s", cmds[i].name,
                                   cmds[i].nargs == 1 ? "FLASH" : "FLASH LABEL");
        }
        return cmds[i].run(&o);
    }
    return cli_usage_error("otadata", "unknown command '%s'", argv[1]);
}
