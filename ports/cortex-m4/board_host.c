/* The example's board on a PC: lines go to stdout. Lets scripts/cross-build.sh run the
 * very sources it cross-compiles, with the host's compiler. */
#include <stdio.h>

#include "board.h"

void board_console(const char *line)
{
    puts(line);
}
