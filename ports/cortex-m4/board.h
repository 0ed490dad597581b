/* What the example asks of its board: a place to put a line of text (a UART, an RTT
 * buffer, a debugger's view of RAM). startup.c has the bare-metal one, board_host.c the
 * one for running the same example on a PC. */
#ifndef OTAKIT_EXAMPLE_BOARD_H
#define OTAKIT_EXAMPLE_BOARD_H

void board_console(const char *line);

#endif
