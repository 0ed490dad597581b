/* Placeholder until the partition subcommands land (replaced by the real implementation). */
#include "cli.h"
#include "commands.h"

int cmd_partition(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("'partition' is not built yet");
}
