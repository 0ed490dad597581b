/* Placeholder until the flash subcommands land (replaced by the real implementation). */
#include "cli.h"
#include "commands.h"

int cmd_flash(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("'flash' is not built yet");
}
