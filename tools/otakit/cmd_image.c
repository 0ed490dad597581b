/* Placeholder until the image subcommands land (replaced by the real implementation). */
#include "cli.h"
#include "commands.h"

int cmd_image(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("'image' is not built yet");
}
