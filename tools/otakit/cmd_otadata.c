/* Placeholder until the otadata subcommands land (replaced by the real implementation). */
#include "cli.h"
#include "commands.h"

int cmd_otadata(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("'otadata' is not built yet");
}
